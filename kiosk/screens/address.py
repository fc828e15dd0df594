from kivy.properties import BooleanProperty, DictProperty, StringProperty
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.boxlayout import BoxLayout

from kiosk.address import check_address
from kiosk.screens.base import KioskScreen
from kiosk.screens.keyboard import NumericKeypad, OnScreenKeyboard

FIELDS = ("postcode", "house_number", "addition", "email")
MAX_LENGTH = {"postcode": 7, "house_number": 5, "addition": 8, "email": 254}


class AddressField(ButtonBehavior, BoxLayout):
    """A labelled box the shopper taps to type into; its own message says what is wrong with it."""

    field = StringProperty("")
    label = StringProperty("")
    value = StringProperty("")
    error = StringProperty("")
    active = StringProperty("")  # the field being typed into (the screen's), to draw the focus ring


class AddressScreen(KioskScreen):
    """Postcode, house number, addition and email for home delivery, typed on the docked keyboards."""

    active = StringProperty("postcode")
    values = DictProperty({name: "" for name in FIELDS})
    errors = DictProperty({})  # field -> message key, filled when "continue" finds a problem
    holding = BooleanProperty(False)  # the stock is being held; the card comes next

    def on_kv_post(self, base_widget):
        self.keyboard = OnScreenKeyboard(email=True)
        self.keyboard.bind(on_key=lambda _, value: self.key(value))
        self.keypad = NumericKeypad()
        self.keypad.bind(on_key=lambda _, value: self.key(value))
        self._show_keys()

    def begin(self) -> None:
        """Coming from the choice of delivery: keep what this shopper typed, start at the first gap."""
        self.errors = {}
        self.focus(next((name for name in FIELDS if not self.values[name] and name != "addition"), "postcode"))

    def focus(self, field: str) -> None:
        self.active = field
        self._show_keys()

    @property
    def shown_keys(self):
        """The keyboard or keypad docked now (it follows the field and what is typed)."""
        return self.keypad if self._wants_keypad() else self.keyboard

    def _wants_keypad(self) -> bool:
        # A Dutch postcode starts with four digits: the keypad until they are there, then letters.
        if self.active == "postcode":
            return len(self.values["postcode"].replace(" ", "")) < 4
        return self.active == "house_number"

    def _show_keys(self) -> None:
        slot = self.ids.key_slot
        wanted = self.shown_keys
        if wanted.parent is not slot:
            slot.clear_widgets()
            slot.add_widget(wanted)

    def key(self, value: str) -> None:
        text = self.values[self.active]
        if value == "\n":
            self._next_field()
            return
        text = text[:-1] if value == "\b" else (text + value)[: MAX_LENGTH[self.active]]
        if self.active in ("postcode", "addition"):
            text = text.upper()
        self.values[self.active] = text
        self.errors.pop(self.active, None)
        self._show_keys()

    def _next_field(self) -> None:
        index = FIELDS.index(self.active)
        if index + 1 < len(FIELDS):
            self.focus(FIELDS[index + 1])
        else:
            self.go_on()

    def go_on(self) -> None:
        check = check_address(*(self.values[name] for name in FIELDS))
        self.errors = dict(check.errors)
        if not check.ok:
            self.focus(next(name for name in FIELDS if name in check.errors))
            return
        self.holding = True
        self.app.screen("fulfil").reserve(check.customer)

    def on_leave(self, *args) -> None:
        self.holding = False

    def error_text(self, lang: str, errors: dict, field: str) -> str:
        return self.app.t(errors[field], lang) if field in errors else ""

    def forget(self) -> None:
        """Personal data: gone when the shopper is done or walks away."""
        self.values = {name: "" for name in FIELDS}
        self.errors = {}
        self.active = "postcode"

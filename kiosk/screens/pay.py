import logging

from kivy.metrics import dp
from kivy.properties import NumericProperty, StringProperty

from kiosk.payments import PaymentProgress, PaymentState
from kiosk.screens.base import KioskScreen
from kiosk.screens.widgets import KButton


log = logging.getLogger("kiosk.screens.pay")

TOUCH_HEIGHT = 136  # dp: every button here is at least 2 cm high (120 px at the ~160 dpi assumed)
CANCELLABLE = ("waiting_for_card", "choosing_application", "reading", "authorising")
FINAL = ("declined", "failed", "cancelled")
# Reasons after which this order cannot be paid again: a new attempt starts from the cart.
ORDER_OVER = ("payment_unknown", "order_refused", "voided", "void_pending", "refund_pending")


class PayScreen(KioskScreen):
    """Shows the payment state machine. The shopper can cancel until the order is being placed: while
    waiting for a card it stops at once; once the card is read the screen says "cancelling" until the
    real outcome is in (an approval is then voided, no order is placed)."""

    # A PaymentState value; "placing" while the order is sent; "cancelling" while a cancel pressed
    # during reading or authorising waits for the outcome.
    state = StringProperty("idle")
    reason = StringProperty("")
    amount_cents = NumericProperty(0)
    reference = ""
    plan = None
    _task = None

    def on_kv_post(self, base_widget):
        self.services.on_payment_change(self.on_progress)

    def release(self, services) -> None:
        super().release(services)
        services.off_payment_change(self.on_progress)

    def begin(self, reference: str, plan) -> None:
        """`plan`: how the shopper gets it and the quoted total (kiosk.checkout.CheckoutPlan)."""
        self.reference, self.plan = reference, plan
        self.state, self.reason = "idle", ""

    def refresh(self) -> None:
        self.amount_cents = self.plan.total_cents if self.plan else self.services.cart.total_cents

    def on_enter(self, *args):
        self.start()

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        # Pressing "pay" twice, or "try again" during an attempt, must never start a second one.
        if self.running or not self.reference or self.services.cart.is_empty():
            return
        self.state, self.reason = PaymentState.waiting_for_card.value, ""
        self._task = self.app.spawn(self._pay())

    async def _pay(self) -> None:
        try:
            result = await self.services.checkout.pay_and_order(self.services.cart, self.reference, self.plan)
        except Exception:
            # Never a dead end: whatever went wrong, the shopper sees it and can go back.
            log.exception("checkout %s failed", self.reference)
            self.state, self.reason = PaymentState.failed.value, "unknown"
            return
        if result.receipt is not None:
            self.app.show_receipt(result.receipt)
        else:
            self.on_progress(result.progress)

    def on_progress(self, progress: PaymentProgress) -> None:
        if progress.cancel_requested and (not progress.state.is_final or progress.state is PaymentState.approved):
            self.state = "cancelling"  # approved too: it is being voided, never placed
        elif progress.state is PaymentState.approved:
            self.state = "placing"
        else:
            self.state = progress.state.value
        self.reason = progress.reason or ""
        self._show_choices(progress.choices if progress.state is PaymentState.choosing_application else ())

    def _show_choices(self, labels: tuple[str, ...]) -> None:
        box = self.ids.choices
        box.clear_widgets()
        for index, label in enumerate(labels):
            button = KButton(text=label, kind="primary", height=dp(TOUCH_HEIGHT))
            button.bind(on_release=lambda _, i=index: self.services.payments.choose(i))
            box.add_widget(button)

    def cancel(self) -> None:
        if self.state in CANCELLABLE:
            self.services.payments.cancel()

    def retry_possible(self, state: str, reason: str) -> bool:
        return state in FINAL and reason not in ORDER_OVER

    def retry_text(self, lang: str, reason: str) -> str:
        """"Pay with another card" where this card will not do, "Pay after all" after a cancel,
        else "Try again"."""
        return self._text(lang, f"pay.retry.{reason}", "pay.retry")

    def main_action(self, state: str, reason: str) -> str:
        """Which final button is the yellow one: "retry", or "back" when the order is over or the
        shopper cancelled (they asked to stop; paying after all stays one tap away)."""
        return "retry" if self.retry_possible(state, reason) and state != "cancelled" else "back"

    def back_to_cart(self) -> None:
        """To the cart itself (not just one screen back: the choice of how to get it, and maybe the
        address, lie between), as if the shopper had pressed "back" until there."""
        history = self.app._history
        if "cart" in history:
            while history and history[-1] != "cart":
                history.pop()
            self.app.go_back()
        else:
            self.app.go("cart")

    def on_leave(self, *args) -> None:
        if self.reference:
            self.services.checkout.leave(self.reference)

    def _text(self, lang: str, *keys: str) -> str:
        """The first of `keys` that has a text ("" when none has)."""
        for key in keys:
            text = self.app.t(key, lang)
            if not text.startswith("["):
                return text
        return ""

    def message(self, lang: str, state: str, reason: str = "") -> str:
        """The big line: what happened, per state, sharper per reason ("Card moved away too early")."""
        if state == "idle":
            return ""
        return self._text(lang, f"pay.{state}.{reason}", f"pay.{state}") if reason else self._text(lang, f"pay.{state}")

    def reason_text(self, lang: str, reason: str, state: str = "") -> str:
        """The line under it: why, and what the shopper can do now; while running, what to do meanwhile."""
        if not reason:
            return self._text(lang, f"pay.detail.{state}") if state else ""
        return self._text(lang, f"pay.reason.{reason}", f"reason.{reason}", "reason.unknown")

    def tone(self, state: str, reason: str) -> str:
        """Colour of the state: "wait" (the shopper acts), "busy" (the kiosk works), "good", "bad"
        (refused or broken: something to do about it), "neutral" (stopped as asked)."""
        if state in ("idle", "waiting_for_card", "choosing_application"):
            return "wait"
        if state in ("reading", "authorising", "cancelling"):
            return "busy"
        if state == "placing":
            return "good"
        if state == "cancelled" or reason in ("staff_badge", "timeout"):
            return "neutral"
        return "bad"

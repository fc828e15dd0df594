import logging

from kivy.properties import NumericProperty, StringProperty

from kiosk.payments import PaymentProgress, PaymentState
from kiosk.screens.base import KioskScreen
from kiosk.screens.widgets import KButton


log = logging.getLogger("kiosk.screens.pay")


class PayScreen(KioskScreen):
    """Shows the payment state machine; the shopper can cancel while no card has been read."""

    state = StringProperty("idle")  # a PaymentState value, or "placing" while the order is sent
    reason = StringProperty("")
    amount_cents = NumericProperty(0)
    reference = ""
    _task = None

    def on_kv_post(self, base_widget):
        self.services.on_payment_change(self.on_progress)

    def begin(self, reference: str) -> None:
        self.reference = reference
        self.state, self.reason = "idle", ""

    def refresh(self) -> None:
        self.amount_cents = self.services.cart.total_cents

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
            result = await self.services.checkout.pay_and_order(self.services.cart, self.reference)
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
        self.state = "placing" if progress.state is PaymentState.approved else progress.state.value
        self.reason = progress.reason or ""
        self._show_choices(progress.choices if progress.state is PaymentState.choosing_application else ())

    def _show_choices(self, labels: tuple[str, ...]) -> None:
        box = self.ids.choices
        box.clear_widgets()
        for index, label in enumerate(labels):
            button = KButton(text=label, kind="secondary")
            button.bind(on_release=lambda _, i=index: self.services.payments.choose(i))
            box.add_widget(button)

    def cancel(self) -> None:
        self.services.payments.cancel()

    def on_leave(self, *args) -> None:
        if self.reference:
            self.services.checkout.leave(self.reference)

    def message(self, lang: str, state: str) -> str:
        return self.app.t(f"pay.{state}", lang) if state != "idle" else ""

    def reason_text(self, lang: str, reason: str) -> str:
        if not reason:
            return ""
        text = self.app.t(f"reason.{reason}", lang)
        return self.app.t("reason.unknown", lang) if text.startswith("[") else text

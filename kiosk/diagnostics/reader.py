"""Diagnostics of the card reader: pcscd, the reader, and a test read (the `kiosk doctor card` flow)."""

from __future__ import annotations

import contextlib
import functools
import threading

from kiosk.diagnostics import limits
from kiosk.diagnostics.base import FAILED, OK, WARNING, DiagnosticsBase, Outcome
from kiosk.diagnostics.blocking import StillRunning
from kiosk.diagnostics.models import Check, ParamValue
from kiosk.diagnostics.pcsc import PcscProbe, probe_pcsc
from kiosk.hardware.terminal import CardError, CardRequest


class ReaderChecks(DiagnosticsBase):

    @property
    def _terminal(self):
        return self.services.terminal

    def _uses_pcsc(self) -> bool:
        return getattr(self._terminal, "name", None) == "pcsc"

    def _reader_wanted(self) -> str | None:
        return getattr(self._terminal, "reader_name_contains", self.services.settings.payment.reader)

    async def _probe(self, key: str, timeout_s: float) -> PcscProbe | None:
        """None when pcscd does not answer in time (or an earlier probe still hangs)."""
        try:
            return await self._blocking.run(key, timeout_s, probe_pcsc, self._reader_wanted())
        except (TimeoutError, StillRunning):
            return None

    async def check_pcscd(self) -> Check:
        timeout_s = self.timeouts["pcscd"]

        async def body() -> Outcome:
            terminal = getattr(self._terminal, "name", type(self._terminal).__name__)
            if not self._uses_pcsc():
                return OK, "diag.pcscd.not_used", {"terminal": terminal}, f"the {terminal} terminal does not use PC/SC"
            probe = await self._probe("pcscd", timeout_s)
            if probe is None:
                return FAILED, "diag.pcscd.not_answering", {"timeout_s": timeout_s}, \
                    f"pcscd did not answer within {timeout_s:g} s: it hangs"
            if probe.outcome == "no_service":
                return FAILED, "diag.pcscd.down", {}, f"pcscd not running: {probe.error}"
            if probe.outcome == "no_pyscard":
                return FAILED, "diag.pcscd.no_pyscard", {}, probe.error
            if probe.outcome == "error":
                return FAILED, "diag.pcscd.error", {}, probe.error
            return OK, "diag.pcscd.up", {"readers": len(probe.readers)}, f"pcscd answers; readers: {probe.readers}"

        return await self._measure("pcscd", timeout_s, body)

    async def check_reader(self) -> Check:
        timeout_s = self.timeouts["reader"]

        async def body() -> Outcome:
            terminal = getattr(self._terminal, "name", type(self._terminal).__name__)
            if not self._uses_pcsc():
                available = await self._blocking.run("reader", timeout_s, self._terminal.is_available)
                if not available:
                    return FAILED, "diag.reader.unavailable", {"reader": terminal}, f"the {terminal} terminal is not available"
                key = "diag.reader.simulated" if terminal == "simulated" else "diag.reader.present"
                return OK, key, {"reader": terminal, "card_present": None}, f"payment terminal: {self._terminal!r}"
            probe = await self._probe("reader", timeout_s)
            wanted = self._reader_wanted()
            if probe is None:
                return FAILED, "diag.reader.not_answering", {"timeout_s": timeout_s}, \
                    f"pcscd did not answer within {timeout_s:g} s"
            if probe.outcome == "no_service":
                return FAILED, "diag.reader.pcscd_down", {}, f"pcscd not running: {probe.error}"
            if probe.outcome != "ok":
                return FAILED, "diag.reader.error", {}, probe.error
            if not probe.readers:
                return FAILED, "diag.reader.none", {}, "pcscd runs, but no card reader is connected"
            if probe.chosen is None:
                return FAILED, "diag.reader.not_found", {"wanted": wanted, "found": ", ".join(probe.readers)}, \
                    f"no reader named like {wanted!r}; pcscd lists: {probe.readers}"
            params: dict[str, ParamValue] = {"reader": probe.chosen, "card_present": probe.card_present}
            if probe.unavailable:
                return FAILED, "diag.reader.unavailable", params, f"{probe.chosen}: {probe.error}"
            if probe.card_present:
                # The next payment would read whatever lies there (a forgotten card, a badge).
                return WARNING, "diag.reader.card_on_reader", params, f"a card lies on {probe.chosen}"
            return OK, "diag.reader.present", params, f"{probe.chosen} ready, no card on it" + (
                f" ({probe.error})" if probe.error else "")

        return await self._measure("reader", timeout_s, body)

    async def test_read_card(self, timeout_s: float = 20.0, *,
                             amount_cents: int = limits.CARD_READ_AMOUNT_CENTS) -> Check:
        """Wait up to `timeout_s` for a card and read it as a payment would (the `kiosk doctor card`
        flow, up to the cryptogram; nothing is ever authorised). Reports only what may be shown of a
        card: scheme, AID, masked number (BIN + last 4 at most), expiry month, the CVM decision."""
        limit = self.services.settings.payment.no_cvm_limit_cents
        wait_s = timeout_s + limits.CARD_READ_MARGIN_S

        async def body() -> Outcome:
            watcher = getattr(self.services, "badge_watcher", None)
            guard = watcher.paused() if watcher is not None else contextlib.nullcontext()
            try:
                async with guard:  # the staff badge watcher lets go of the reader meanwhile
                    return await read()
            except CardError as exc:  # the watcher could not let go (pcscd hanging)
                return FAILED, f"diag.card_read.{exc.reason}", {}, f"{type(exc).__name__}: {exc}"

        async def read() -> Outcome:
            try:
                if self._uses_pcsc():
                    from kiosk.hardware.doctor import check_card

                    result = await self._blocking.run("card_read", wait_s, functools.partial(
                        check_card, self._reader_wanted(), amount_cents, no_cvm_limit_cents=limit,
                        timeout_s=timeout_s))
                    params: dict[str, ParamValue] = {
                        "reader": result.reader, "interface": result.interface, "scheme": result.scheme,
                        "aid": result.aid, "masked_pan": result.masked_pan, "expiry_month": result.expiry_month,
                        "cvm": result.cvm, "amount_cents": amount_cents}
                    if result.cvm != "no_cvm":
                        return WARNING, "diag.card_read.pin_required", params, result.detail
                    return OK, "diag.card_read.ok", params, result.detail
                cancel = threading.Event()
                request = CardRequest(amount_cents=amount_cents, card_timeout_s=timeout_s, no_cvm_limit_cents=limit)
                try:
                    read = await self._blocking.run("card_read", wait_s, self._terminal.read_card, request, cancel)
                finally:
                    cancel.set()  # a read still waiting for a card stops at its next look
                summary = read.summary
                params = {"reader": getattr(self._terminal, "name", "terminal"), "interface": None,
                          "scheme": summary.scheme, "aid": None, "masked_pan": summary.masked_pan,
                          "expiry_month": summary.expiry_month, "cvm": "no_cvm", "amount_cents": amount_cents}
                return OK, "diag.card_read.ok", params, "card read (the sealed card data is dropped)"
            except CardError as exc:
                params = {"timeout_s": timeout_s} if exc.reason == "timeout" else {}
                return FAILED, f"diag.card_read.{exc.reason}", params, f"{type(exc).__name__}: {exc}"
            except StillRunning:
                return FAILED, "diag.card_read.busy", {}, "an earlier test read is still waiting for its card"
            except TimeoutError:
                return FAILED, "diag.card_read.not_answering", {"timeout_s": wait_s}, \
                    f"the reader did not finish within {wait_s:g} s"
            except ImportError as exc:
                return FAILED, "diag.card_read.reader_unavailable", {}, f"PC/SC support missing: {exc}"

        return await self._measure("card_read", wait_s, body)

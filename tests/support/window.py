"""The window every UI test runs in: the portrait pillar screen, no animations, no lockdown."""

from kiosk.launch import WindowOptions

UI_WINDOW = WindowOptions(fullscreen=False, width=1080, height=1920, lockdown=False, animate=False)

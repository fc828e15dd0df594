"""The screen registry: one module + one .kv per screen, navigation names in one place."""

from kiosk.screens import kivy_fixes

kivy_fixes.install()  # before any ScrollView exists (see the module)

from kiosk.screens.address import AddressScreen
from kiosk.screens.article import ArticleScreen
from kiosk.screens.attract import AttractScreen
from kiosk.screens.cart import CartScreen
from kiosk.screens.categories import CategoriesScreen
from kiosk.screens.fulfil import FulfilScreen
from kiosk.screens.pay import PayScreen
from kiosk.screens.products import ProductsScreen
from kiosk.screens.receipt import ReceiptScreen
from kiosk.screens.search import SearchScreen
from kiosk.screens.staff_diagnostics import StaffDiagnosticsScreen
from kiosk.screens.staff_home import StaffHomeScreen
from kiosk.screens.staff_login import StaffLoginScreen
from kiosk.screens.staff_picks import StaffPicksScreen
from kiosk.screens.staff_restock import StaffRestockScreen
from kiosk.screens.staff_settings import StaffSettingsScreen

SCREENS = {
    "attract": AttractScreen,
    "categories": CategoriesScreen,
    "products": ProductsScreen,
    "search": SearchScreen,
    "article": ArticleScreen,
    "cart": CartScreen,
    "fulfil": FulfilScreen,
    "address": AddressScreen,
    "pay": PayScreen,
    "receipt": ReceiptScreen,
    # Staff (kiosk/screens/staff_mode.py): behind a badge or the hidden corner press and a PIN.
    "staff_login": StaffLoginScreen,
    "staff_home": StaffHomeScreen,
    "staff_restock": StaffRestockScreen,
    "staff_picks": StaffPicksScreen,
    "staff_settings": StaffSettingsScreen,
    "staff_diagnostics": StaffDiagnosticsScreen,
}

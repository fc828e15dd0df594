"""The screen registry: one module + one .kv per screen, navigation names in one place."""

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
}

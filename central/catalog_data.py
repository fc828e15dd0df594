"""The raw material of the demo catalog: categories, product types, brands, shops.

Plain data, kept apart from the generator in `seed.py` so either can be read on its own. The shops
are real Dutch city-centre shopping streets with their true coordinates; they are demo data, not a
claim about where any retailer has a shop.
"""

from __future__ import annotations

from dataclasses import dataclass

# (id, Dutch name, English name, parent id): a two-level tree, parents first.
CATEGORIES: list[tuple[str, str, str, str | None]] = [
    ("fietsen", "Fietsen & accessoires", "Bikes & accessories", None),
    ("kamperen", "Kamperen", "Camping", None),
    ("auto", "Auto", "Car", None),
    ("reizen", "Reizen & bagage", "Travel & luggage", None),
    ("wandelen", "Wandelen & outdoor", "Hiking & outdoor", None),
    ("kaarten", "Kaarten & navigatie", "Maps & navigation", None),
    ("fietsen-dragers", "Fietsdragers", "Bike carriers", "fietsen"),
    ("fietsen-verlichting", "Fietsverlichting", "Bike lights", "fietsen"),
    ("fietsen-sloten", "Fietssloten", "Bike locks", "fietsen"),
    ("fietsen-tassen", "Fietstassen", "Bike bags", "fietsen"),
    ("fietsen-accessoires", "Fietsaccessoires", "Bike accessories", "fietsen"),
    ("kamperen-tenten", "Tenten", "Tents", "kamperen"),
    ("kamperen-slapen", "Slapen", "Sleeping", "kamperen"),
    ("kamperen-koken", "Koken & koelen", "Cooking & cooling", "kamperen"),
    ("kamperen-meubels", "Kampeermeubels", "Camping furniture", "kamperen"),
    ("auto-dakkoffers", "Dakkoffers & dragers", "Roof boxes & racks", "auto"),
    ("auto-veiligheid", "Veiligheid onderweg", "Safety on the road", "auto"),
    ("auto-accessoires", "Auto-accessoires", "Car accessories", "auto"),
    ("reizen-koffers", "Koffers", "Suitcases", "reizen"),
    ("reizen-tassen", "Tassen & rugzakken", "Bags & backpacks", "reizen"),
    ("reizen-accessoires", "Reisaccessoires", "Travel accessories", "reizen"),
    ("wandelen-schoenen", "Schoenen", "Footwear", "wandelen"),
    ("wandelen-kleding", "Kleding", "Clothing", "wandelen"),
    ("wandelen-uitrusting", "Uitrusting", "Gear", "wandelen"),
    ("kaarten-wegenkaarten", "Wegenkaarten & atlassen", "Road maps & atlases", "kaarten"),
    ("kaarten-gidsen", "Reis-, fiets- en wandelgidsen", "Guide books", "kaarten"),
    ("kaarten-navigatie", "Navigatie", "Navigation devices", "kaarten"),
]

COLOURS = ["zwart", "grijs", "antraciet", "blauw", "marineblauw", "rood", "groen", "olijfgroen", "oranje", "geel", "wit"]
CLOTHING_SIZES = ["XS", "S", "M", "L", "XL", "XXL"]
SHOE_SIZES = [str(n) for n in range(37, 48)]
REGIONS = [
    "Nederland", "België en Luxemburg", "Frankrijk Noord", "Frankrijk Zuid", "Duitsland", "Italië",
    "Spanje en Portugal", "Oostenrijk", "Zwitserland", "Scandinavië", "Kroatië", "Griekenland",
    "Ardennen", "Veluwe", "Zeeland", "Drenthe", "Zuid-Limburg", "Friesland", "Waddeneilanden",
    "Schwarzwald", "Toscane", "Provence", "Dordogne", "Bretagne", "Eifel", "Sauerland",
]
MODEL_WORDS = [
    "Explorer", "Compact", "Trail", "City", "Summit", "Nordic", "Classic", "Comfort", "Urban",
    "Voyager", "Alpine", "Breeze", "Horizon", "Ranger", "Tour", "Venture", "Polar", "Zephyr",
    "Delta", "Nova", "Pioneer", "Active", "Sport", "Evo", "Lite", "Basecamp", "Coast", "Dune",
]
MODEL_SUFFIXES = ["", "", "", "Pro", "Plus", "II", "XT", "2", "3", "300", "500", "Ultra", "Eco"]


@dataclass(frozen=True)
class ProductType:
    name: str
    category_id: str
    brands: tuple[str, ...]
    price_euros: tuple[int, int]
    blurb: str
    sizes: tuple[str, ...] = ()
    colours: bool = False
    models: tuple[str, ...] = ()  # fixed model names (e.g. regions) instead of invented ones


def _t(name, category, brands, price, blurb, sizes=(), colours=False, models=()) -> ProductType:
    return ProductType(name, category, tuple(brands), price, blurb, tuple(sizes), colours, tuple(models))


PRODUCT_TYPES: list[ProductType] = [
    # Fietsen & accessoires
    _t("Fietsdrager", "fietsen-dragers", ["Thule", "Pro-User", "Menabo", "Twinny Load", "Uebler"], (199, 799),
       "Trekhaakfietsdrager die in een handomdraai op de auto staat.", ["2 fietsen", "3 fietsen"], True),
    _t("Fietslamp", "fietsen-verlichting", ["Sigma", "Busch & Müller", "AXA", "Spanninga", "Trelock"], (15, 90),
       "Heldere koplamp met accu, oplaadbaar via USB-C."),
    _t("Achterlicht", "fietsen-verlichting", ["Sigma", "AXA", "Spanninga", "Trelock"], (8, 40),
       "Achterlicht met remlichtfunctie en automatische aan/uit."),
    _t("Kettingslot", "fietsen-sloten", ["AXA", "Abus", "Kryptonite", "Trelock"], (25, 130),
       "ART-gekeurd kettingslot met geharde schakels.", ["85 cm", "110 cm", "150 cm"]),
    _t("Vouwslot", "fietsen-sloten", ["Abus", "Trelock", "Kryptonite"], (40, 130),
       "Compact vouwslot met houder voor aan het frame.", (), True),
    _t("Fietstas", "fietsen-tassen", ["Basil", "Ortlieb", "Vaude", "New Looxs"], (30, 180),
       "Waterdichte dubbele fietstas met reflecterende details.", (), True),
    _t("Stuurtas", "fietsen-tassen", ["Basil", "Ortlieb", "Vaude"], (25, 110),
       "Stuurtas met kaartvak en snelle klikbevestiging.", (), True),
    _t("Fietsbel", "fietsen-accessoires", ["Basil", "Crane", "Widek", "Spanninga"], (5, 25),
       "Fietsbel met heldere klank, past op elk stuur.", (), True),
    _t("Fietspomp", "fietsen-accessoires", ["Topeak", "SKS", "Lezyne"], (15, 70),
       "Pomp met manometer voor alle ventieltypes."),
    _t("Fietshelm", "fietsen-accessoires", ["Abus", "Giro", "Uvex", "Bell"], (40, 180),
       "Lichte helm met goede ventilatie en verstelbaar draaiwiel.", ["S", "M", "L"], True),
    # Kamperen
    _t("Tent", "kamperen-tenten", ["Vaude", "Jack Wolfskin", "Coleman", "Easy Camp", "Vango", "Nomad"], (80, 650),
       "Snel op te zetten koepeltent met ruime voortent.", ["2-persoons", "3-persoons", "4-persoons"], True),
    _t("Tarp", "kamperen-tenten", ["Vaude", "Nomad", "DD Hammocks"], (30, 120),
       "Licht tarp als schaduwdoek of regenscherm."),
    _t("Slaapzak", "kamperen-slapen", ["Vaude", "Nomad", "Jack Wolfskin", "Deuter", "Mammut"], (50, 350),
       "Mummieslaapzak voor voorjaar, zomer en najaar.", ["Regular", "Long"], True),
    _t("Slaapmat", "kamperen-slapen", ["Therm-a-Rest", "Nomad", "Sea to Summit", "Exped"], (30, 200),
       "Zelfopblazende slaapmat met hoge isolatiewaarde.", ["Regular", "Large"]),
    _t("Luchtbed", "kamperen-slapen", ["Intex", "Bestway", "Coleman"], (20, 80),
       "Stevig luchtbed met ingebouwde pomp.", ["1-persoons", "2-persoons"]),
    _t("Kooktoestel", "kamperen-koken", ["Campingaz", "Primus", "MSR", "Jetboil"], (30, 180),
       "Compact kooktoestel op gas, windbestendig."),
    _t("Pannenset", "kamperen-koken", ["GSI Outdoors", "Primus", "Easy Camp", "Brunner"], (20, 90),
       "Nestbare pannenset met afneembaar handvat."),
    _t("Koelbox", "kamperen-koken", ["Campingaz", "Mobicool", "Dometic", "Igloo"], (35, 400),
       "Koelbox die 12 en 230 volt aankan.", ["24 L", "32 L", "45 L"]),
    _t("Campingstoel", "kamperen-meubels", ["Crespo", "Brunner", "Helinox", "Defender"], (25, 180),
       "Opvouwbare stoel met hoge rugleuning.", (), True),
    _t("Campingtafel", "kamperen-meubels", ["Brunner", "Crespo", "Eurotrail"], (40, 150),
       "Lichte aluminium tafel, in hoogte verstelbaar.", ["80 x 60 cm", "120 x 70 cm"]),
    # Auto
    _t("Dakkoffer", "auto-dakkoffers", ["Thule", "Kamei", "Hapro", "Menabo"], (250, 900),
       "Aerodynamische dakkoffer die aan beide kanten opent.", ["320 L", "420 L", "480 L"], True),
    _t("Dakdrager", "auto-dakkoffers", ["Thule", "Menabo", "Whispbar"], (90, 350),
       "Stille aluminium dakdragers, afsluitbaar."),
    _t("Gevarendriehoek", "auto-veiligheid", ["ANWB", "Kalff", "Carpoint"], (8, 25),
       "E-gekeurde gevarendriehoek in een handige opbergdoos."),
    _t("Veiligheidshesje", "auto-veiligheid", ["ANWB", "Carpoint"], (3, 10),
       "Reflecterend hesje volgens EN ISO 20471.", (), True),
    _t("Verbanddoos", "auto-veiligheid", ["ANWB", "Carpoint"], (10, 30),
       "Complete verbanddoos voor in de auto, voldoet aan DIN 13164."),
    _t("Brandblusser", "auto-veiligheid", ["ANWB", "Gloria", "Smartwares"], (25, 60),
       "Poederblusser met houder voor onder de stoel.", ["1 kg", "2 kg"]),
    _t("Autolader", "auto-accessoires", ["Belkin", "Anker", "Carpoint"], (10, 40),
       "Snellader voor de sigarettenaansteker met twee poorten."),
    _t("Telefoonhouder", "auto-accessoires", ["Brodit", "Belkin", "iOttie"], (15, 50),
       "Telefoonhouder voor ventilatierooster of dashboard."),
    _t("Starthulp", "auto-accessoires", ["NOCO", "Carpoint", "Bosch"], (50, 200),
       "Draagbare jumpstarter met ingebouwde powerbank."),
    _t("IJskrabber", "auto-accessoires", ["ANWB", "Carpoint"], (3, 12),
       "IJskrabber met handschoen, krast niet."),
    _t("Bandenpomp", "auto-accessoires", ["Bosch", "Michelin", "Carpoint"], (25, 90),
       "Digitale compressor die stopt op de ingestelde druk."),
    # Reizen & bagage
    _t("Koffer", "reizen-koffers", ["Samsonite", "American Tourister", "Travelite", "Delsey"], (80, 400),
       "Harde koffer met vier zwenkwielen en TSA-slot.", ["Handbagage", "Medium", "Groot"], True),
    _t("Reistas", "reizen-tassen", ["Eastpak", "The North Face", "Samsonite"], (40, 180),
       "Sterke reistas die ook als rugzak te dragen is.", (), True),
    _t("Rugzak", "reizen-tassen", ["Deuter", "Osprey", "Jack Wolfskin", "Vaude", "Eastpak"], (40, 250),
       "Rugzak met geventileerd rugpand en regenhoes.", ["20 L", "30 L", "45 L"], True),
    _t("Toilettas", "reizen-tassen", ["Eastpak", "Samsonite", "Travelsafe"], (15, 45),
       "Toilettas met ophanghaak en veel vakken.", (), True),
    _t("Reisstekker", "reizen-accessoires", ["Skross", "ANWB", "Travel Blue"], (12, 40),
       "Wereldstekker voor meer dan 150 landen, met USB."),
    _t("Nekkussen", "reizen-accessoires", ["Travel Blue", "Samsonite", "Cabeau"], (10, 40),
       "Traagschuim nekkussen voor lange reizen.", (), True),
    _t("Bagageweegschaal", "reizen-accessoires", ["Travel Blue", "ANWB"], (8, 25),
       "Digitale bagageweegschaal tot 50 kilo."),
    _t("Powerbank", "reizen-accessoires", ["Anker", "Belkin", "Xtorm"], (20, 90),
       "Powerbank met snelladen, mag mee in de handbagage.", ["10.000 mAh", "20.000 mAh"]),
    _t("Paspoorthoes", "reizen-accessoires", ["Travelsafe", "Pacsafe"], (10, 35),
       "Paspoorthoes met RFID-bescherming.", (), True),
    # Wandelen & outdoor
    _t("Trekkingschoen", "wandelen-schoenen", ["Meindl", "Lowa", "Salomon", "Hanwag", "Keen"], (130, 280),
       "Waterdichte trekkingschoen met Vibram-zool.", SHOE_SIZES),
    _t("Wandelschoen", "wandelen-schoenen", ["Salomon", "Merrell", "Keen", "Columbia"], (80, 190),
       "Lichte wandelschoen voor dagtochten.", SHOE_SIZES),
    _t("Wandelsandaal", "wandelen-schoenen", ["Teva", "Keen", "Source"], (50, 120),
       "Sandaal met stevige zool en snelsluiting.", SHOE_SIZES),
    _t("Regenjas", "wandelen-kleding", ["Jack Wolfskin", "The North Face", "Vaude", "Rukka", "Columbia"], (60, 350),
       "Ademende regenjas met afgeplakte naden en verstelbare capuchon.", CLOTHING_SIZES, True),
    _t("Fleecevest", "wandelen-kleding", ["Jack Wolfskin", "The North Face", "Columbia"], (35, 120),
       "Warm fleecevest dat snel droogt.", CLOTHING_SIZES, True),
    _t("Softshelljas", "wandelen-kleding", ["Vaude", "Mammut", "Jack Wolfskin"], (70, 220),
       "Winddichte softshell met stretch.", CLOTHING_SIZES, True),
    _t("Wandelbroek", "wandelen-kleding", ["Fjällräven", "Columbia", "Craghoppers"], (50, 160),
       "Afritsbroek met UV-bescherming.", CLOTHING_SIZES, True),
    _t("Wandelstokken", "wandelen-uitrusting", ["Leki", "Black Diamond", "Komperdell"], (30, 160),
       "Telescopische wandelstokken met kurken handvat."),
    _t("Drinkfles", "wandelen-uitrusting", ["Sigg", "Nalgene", "Camelbak"], (10, 40),
       "Lekvrije drinkfles, vrij van BPA.", ["0,5 L", "0,75 L", "1 L"], True),
    _t("Hoofdlamp", "wandelen-uitrusting", ["Petzl", "Black Diamond", "Ledlenser"], (20, 90),
       "Hoofdlamp met rood licht en kantelbare lamp."),
    _t("Verrekijker", "wandelen-uitrusting", ["Bresser", "Nikon", "Steiner"], (60, 500),
       "Waterdichte verrekijker, 8x42, met stikstofvulling."),
    # Kaarten & navigatie
    _t("Wegenkaart", "kaarten-wegenkaarten", ["ANWB", "Michelin", "Falk", "Freytag & Berndt"], (6, 15),
       "Actuele wegenkaart met toeristische informatie.", (), False, REGIONS),
    _t("Wegenatlas", "kaarten-wegenkaarten", ["ANWB", "Michelin", "Falk"], (15, 35),
       "Spiraalgebonden wegenatlas met plattegronden.", (), False,
       ["Europa", "Nederland", "Frankrijk", "Duitsland", "Benelux"]),
    _t("Reisgids", "kaarten-gidsen", ["ANWB", "Lonely Planet", "Capitool", "Dominicus"], (15, 35),
       "Reisgids vol tips, routes en uitneembare kaart.", (), False, REGIONS),
    _t("Fietsgids", "kaarten-gidsen", ["ANWB", "Falk", "Kompass"], (12, 25),
       "Fietsgids met knooppuntenroutes en bezienswaardigheden.", (), False, REGIONS),
    _t("Wandelgids", "kaarten-gidsen", ["ANWB", "Kompass", "Rother"], (12, 25),
       "Wandelgids met dagtochten en hoogteprofielen.", (), False, REGIONS),
    _t("Navigatiesysteem", "kaarten-navigatie", ["Garmin", "TomTom"], (150, 400),
       "Navigatie met Europese kaarten en live verkeer.", ['5 inch', '6 inch', '7 inch']),
    _t("Fietsnavigatie", "kaarten-navigatie", ["Garmin", "Wahoo", "Sigma"], (150, 600),
       "Fietscomputer met navigatie en knooppunten."),
    _t("GPS-horloge", "kaarten-navigatie", ["Garmin", "Polar", "Suunto", "Coros"], (150, 700),
       "Sporthorloge met GPS, hartslag en wandelkaarten.", (), True),
]

# Types whose bigger sizes cost more (tents, suitcases, roof boxes); clothing and shoes do not.
PRICED_BY_SIZE = {
    "Fietsdrager", "Kettingslot", "Tent", "Slaapzak", "Slaapmat", "Luchtbed", "Koelbox", "Campingtafel",
    "Dakkoffer", "Brandblusser", "Koffer", "Rugzak", "Powerbank", "Drinkfles", "Navigatiesysteem",
}

# Shared selling points per top category, two of which end each description.
FEATURES: dict[str, list[str]] = {
    "fietsen": ["Getest door de ANWB-fietsexperts.", "Twee jaar garantie.", "Eenvoudig zelf te monteren.",
                "Geschikt voor e-bikes.", "Inclusief montagemateriaal."],
    "kamperen": ["Licht en compact mee te nemen.", "Inclusief opbergzak.", "Twee jaar garantie.",
                 "Gemaakt van gerecyclede materialen.", "Geschikt voor het hele kampeerseizoen."],
    "auto": ["Past op de meeste automerken.", "Getest door de ANWB-autotechnici.", "Twee jaar garantie.",
             "Verplicht in diverse Europese landen.", "Eenvoudig in gebruik."],
    "reizen": ["Voldoet aan de handbagage-eisen van de meeste luchtvaartmaatschappijen.", "Twee jaar garantie.",
               "Licht en sterk.", "Handig voor onderweg.", "Vijf jaar garantie."],
    "wandelen": ["Ademend en waterafstotend.", "Bluesign-gecertificeerd.", "Twee jaar garantie.",
                 "Geschikt voor meerdaagse tochten.", "Licht in gewicht."],
    "kaarten": ["Uitgave van dit jaar.", "Met knooppuntennetwerk.", "Nederlandstalig.",
                "Inclusief digitale kaart in de app.", "Handzaam formaat."],
}

# Soft background colours (RGB) for product pictures, per top category.
CATEGORY_COLOURS: dict[str, tuple[int, int, int]] = {
    "fietsen": (255, 236, 179),
    "kamperen": (200, 230, 201),
    "auto": (187, 222, 251),
    "reizen": (248, 187, 208),
    "wandelen": (215, 204, 200),
    "kaarten": (225, 190, 231),
}

_WEEKDAY_HOURS = ("09:30", "18:00")
_SATURDAY_HOURS = ("09:30", "17:30")
_SUNDAY_HOURS = ("12:00", "17:00")


def _hours(late_night: int | None = 3, sunday: bool = True, monday_opens: str = "12:00") -> list[dict]:
    """Weekly opening hours as OpeningHours dicts; days not listed are closed."""
    days = [{"weekday": 0, "opens": monday_opens, "closes": _WEEKDAY_HOURS[1]}]
    for weekday in (1, 2, 3, 4):
        closes = "21:00" if weekday == late_night else _WEEKDAY_HOURS[1]
        days.append({"weekday": weekday, "opens": _WEEKDAY_HOURS[0], "closes": closes})
    days.append({"weekday": 5, "opens": _SATURDAY_HOURS[0], "closes": _SATURDAY_HOURS[1]})
    if sunday:
        days.append({"weekday": 6, "opens": _SUNDAY_HOURS[0], "closes": _SUNDAY_HOURS[1]})
    return days


# (id, name, city, address, latitude, longitude, opening hours)
STORES: list[tuple[str, str, str, str, float, float, list[dict]]] = [
    ("utrecht-centrum", "Winkel Utrecht Centrum", "Utrecht", "Lange Viestraat 2, 3511 BK Utrecht",
     52.09290, 5.11660, _hours(late_night=3)),
    ("utrecht-leidsche-rijn", "Winkel Utrecht Leidsche Rijn", "Utrecht", "Brusselplein 10, 3541 CH Utrecht",
     52.09390, 5.05720, _hours(late_night=4)),
    ("amsterdam-centrum", "Winkel Amsterdam Centrum", "Amsterdam", "Kalverstraat 92, 1012 PH Amsterdam",
     52.36960, 4.89180, _hours(late_night=3, monday_opens="11:00")),
    ("rotterdam-centrum", "Winkel Rotterdam Lijnbaan", "Rotterdam", "Lijnbaan 55, 3012 EL Rotterdam",
     51.92030, 4.47460, _hours(late_night=4, monday_opens="11:00")),
    ("den-haag-centrum", "Winkel Den Haag Centrum", "Den Haag", "Spuistraat 30, 2511 BE Den Haag",
     52.07760, 4.31290, _hours(late_night=3)),
    ("amersfoort-centrum", "Winkel Amersfoort", "Amersfoort", "Utrechtsestraat 20, 3811 LZ Amersfoort",
     52.15400, 5.38380, _hours(late_night=4)),
    ("eindhoven-centrum", "Winkel Eindhoven", "Eindhoven", "Demer 25, 5611 AS Eindhoven",
     51.43860, 5.47730, _hours(late_night=4)),
    ("nijmegen-centrum", "Winkel Nijmegen", "Nijmegen", "Broerstraat 40, 6511 KN Nijmegen",
     51.84670, 5.86260, _hours(late_night=3, sunday=False)),
    ("groningen-centrum", "Winkel Groningen", "Groningen", "Herestraat 60, 9711 LM Groningen",
     53.21410, 6.56830, _hours(late_night=3)),
]


# Staff per shop: (staff id, name, shop id, role, badge UIDs). Two per shop, one of them a manager.
# The badges are fixed: tests and the demo tap them (utrecht-centrum's in particular). UIDs are
# 7-byte NXP ones (04...), hex, upper-case, no separators, as the kiosk's reader gives them.
STAFF: list[tuple[str, str, str, str, tuple[str, ...]]] = [
    ("s-utr-1", "Sanne de Vries", "utrecht-centrum", "staff", ("04A1B2C3D4E5F6",)),
    ("s-utr-2", "Mehmet Yilmaz", "utrecht-centrum", "manager", ("04112233445566",)),
    ("s-ulr-1", "Lotte Jansen", "utrecht-leidsche-rijn", "staff", ("049797C6153636",)),
    ("s-ulr-2", "Daan Bakker", "utrecht-leidsche-rijn", "manager", ("048DD558631654",)),
    ("s-ams-1", "Fatima El Amrani", "amsterdam-centrum", "staff", ("0408B40FF6E004",)),
    ("s-ams-2", "Joris Visser", "amsterdam-centrum", "manager", ("04FEBBE2ADEB7D",)),
    ("s-rot-1", "Emma Smit", "rotterdam-centrum", "staff", ("040CE4ECB5E030",)),
    ("s-rot-2", "Kevin Meijer", "rotterdam-centrum", "manager", ("0495164FB2871F",)),
    ("s-dha-1", "Noor de Boer", "den-haag-centrum", "staff", ("04353A3E63DD56",)),
    ("s-dha-2", "Thomas Mulder", "den-haag-centrum", "manager", ("04819EA568C27B",)),
    ("s-amf-1", "Julia de Groot", "amersfoort-centrum", "staff", ("04587B11EC5849",)),
    ("s-amf-2", "Ruben Bos", "amersfoort-centrum", "manager", ("045BB3DE04FBE8",)),
    ("s-ehv-1", "Sophie Vos", "eindhoven-centrum", "staff", ("045AEE43AA1CB9",)),
    ("s-ehv-2", "Bram Peters", "eindhoven-centrum", "manager", ("04D8FF58A4375A",)),
    ("s-nij-1", "Anouk Hendriks", "nijmegen-centrum", "staff", ("041D19D60BEBD1",)),
    ("s-nij-2", "Lucas van Leeuwen", "nijmegen-centrum", "manager", ("04B4720263715F",)),
    ("s-gro-1", "Isa Dekker", "groningen-centrum", "staff", ("04599A0093392E",)),
    ("s-gro-2", "Milan Brouwer", "groningen-centrum", "manager", ("0409EAF704D2F9",)),
]

"""`GET /v1/promotions`: what the attract screens of the fleet show, in Dutch and English.

The reference server makes them from its own catalog (one article from each of the first top
categories, with a picture), so the demo always promotes articles that exist. A real central system
would let the marketing team plan them; the kiosk only shows what it gets.
"""

from __future__ import annotations

from fastapi import APIRouter

from central.db import image_urls
from central.deps import Kiosk, Parts
from central.errors import error_responses
from kiosk.contract import Promotion

router = APIRouter(prefix="/v1")

# (title nl, title en): one per promoted article, in order.
_TITLES = (
    ("Nieuw in ons assortiment", "New in our range"),
    ("Populair deze week", "Popular this week"),
    ("Tip van de winkel", "Our shop's tip"),
    ("Klaar voor onderweg", "Ready for the road"),
)


@router.get("/promotions", response_model=list[Promotion], tags=["catalog"], responses=error_responses(401),
            summary="Promotions for the attract screen (text and picture; prices stay in the catalog)")
def promotions(parts: Parts, _: Kiosk) -> list[Promotion]:
    with parts.db.session() as conn:
        tops = [r[0] for r in conn.execute(
            "SELECT id FROM categories WHERE parent_id IS NULL ORDER BY position LIMIT ?", (len(_TITLES),))]
        picked = []
        for top in tops:
            row = conn.execute(
                "SELECT p.id, p.name, p.image_count FROM products p JOIN categories c ON c.id = p.category_id"
                " WHERE (c.id = ? OR c.parent_id = ?) AND p.image_count > 0 ORDER BY p.row_id LIMIT 1",
                (top, top)).fetchone()
            if row is not None:
                picked.append(row)
    return [
        Promotion(id=f"promo-{index + 1}", title=title, title_en=title_en, subtitle=name, subtitle_en=name,
                  product_id=product_id, image_url=image_urls(product_id, image_count)[0])
        for index, ((product_id, name, image_count), (title, title_en)) in enumerate(zip(picked, _TITLES))
    ]

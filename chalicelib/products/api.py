"""HTTP routes of products' own (the record routes are generated from the definition): the
category tree and a line's price."""
from __future__ import annotations

from chalice import Blueprint

from ..core.api import ApiRequest, LazyModels, route
from . import categories, service

bp = Blueprint(__name__)
s = LazyModels(f"{__package__}.schemas")
TAG = "products"


@route(bp, "/product-categories", summary="The product category tree (产品分类), any depth", tag=TAG,
       response=s.CategoriesOut)
def get_categories(req: ApiRequest) -> dict:
    return categories.get_tree()


@route(bp, "/product-categories", "PUT", summary="Replace the product category tree (products:manage): stable ids, no "
       "cycles, no category that products still use left out", tag=TAG, body=s.CategoriesIn, response=s.CategoriesOut)
def put_categories(req: ApiRequest) -> dict:
    b = req.body
    return categories.put_tree([c.model_dump() for c in b.categories], req.version_if_given(b.version))


@route(bp, "/products/{product_id}/price", summary="The price of a line of this product (阶梯价格, 客户级别折扣): "
       "quantity tier, then the customer's level discount; only products on the shelf", tag=TAG, query=s.PriceQuery,
       response=s.PriceOut)
def price(req: ApiRequest, product_id: str) -> dict:
    return service.price(product_id, req.query.quantity, req.query.customer_id)

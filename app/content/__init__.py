"""The product content library: how-to, care and FAQ texts the merchant writes (or imports from a product
metafield) per product, variant, product type or collection, in English and Thai, released by the parcel's state:
"getting started" when it is out for delivery or delivered, care tips some days after delivery.

Other features ask two things of it, both in `app/content/messages.py` (which imports no other feature): what a
content message says (`content_message_facts`) and what the delivered tracking page shows
(`tracking_page_content`). A release reaches the shopper as the domain event `content.released`, which
notifications turn into a `product_content` message.
"""

from app.content.messages import content_message_facts, tracking_page_content

__all__ = ["content_message_facts", "tracking_page_content"]

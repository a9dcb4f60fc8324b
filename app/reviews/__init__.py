"""Product reviews: requests timed from delivery, the shopper's review page, moderation and replies, the storefront
block's data and Shopify's standard rating metafields."""

"""Shopify's own pages: the order status page (customer account UI extensions) and the thank-you page (a
checkout UI extension) call these JSON endpoints under `/ext`, each request carrying the extension's session
token. The token names the shop (`dest`) and, when the buyer is logged in, the customer (`sub`); the order the
extension asks about must belong to both (or, for a guest on the thank-you page, match the checkout's email),
and nothing else is answered. Tracking, returns, surveys and the SMS/LINE sign-up are read through their public
functions (listed in pyproject's import-linter contract)."""

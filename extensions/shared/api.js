import {APP_URL} from './app-url.js';

/**
 * Call our backend under /ext with the extension's session token (Shopify mints a fresh one when the old one
 * is near its 5-minute end). Resolves to {ok, status, data}; never throws, so a block degrades to its fallback.
 */
export async function callBackend(shopify, path, {method = 'GET', query, body} = {}) {
  try {
    const token = await shopify.sessionToken.get();
    const url = new URL(APP_URL + path);
    for (const [name, value] of Object.entries(query || {})) {
      if (value != null) url.searchParams.set(name, value);
    }
    const response = await fetch(url.toString(), {
      method,
      headers: {
        Authorization: `Bearer ${token}`,
        ...(body ? {'Content-Type': 'application/json'} : {}),
      },
      body: body ? JSON.stringify(body) : undefined,
    });
    const data = await response.json().catch(() => ({}));
    return {ok: response.ok, status: response.status, data};
  } catch (error) {
    return {ok: false, status: 0, data: {}};
  }
}

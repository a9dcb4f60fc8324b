// The blocks' state: ask our backend for this order (the token proves the shop and buyer), then draw. A store
// whose order we do not know, or a backend that cannot answer, gets no block at all rather than an error:
// the tracking page and messages keep working without it.
import {useEffect, useState} from 'preact/hooks';

import {callBackend} from './api.js';
import {pickLocale, translator} from './strings.js';
import {Loading, OrderStatusView, ThankYouView} from './views.jsx';

function useLocale(shopify) {
  const language = shopify.localization && shopify.localization.language;
  return pickLocale(language && language.value && language.value.isoCode);
}

export function OrderStatusApp({shopify, fulfillmentId}) {
  const locale = useLocale(shopify);
  const t = translator(locale);
  const orderId = shopify.order && shopify.order.value && shopify.order.value.id;
  const [result, setResult] = useState(null);
  useEffect(() => {
    if (!orderId) return;
    callBackend(shopify, '/ext/customer-account/order', {
      query: {order: orderId, fulfillment: fulfillmentId, locale},
    }).then(setResult);
  }, [orderId, fulfillmentId, locale]);
  if (!orderId || (result && !result.ok)) return null;
  if (!result) return fulfillmentId ? null : <Loading t={t} />;
  const onSms = ({phone, consent}) =>
    callBackend(shopify, '/ext/customer-account/sms', {method: 'POST', body: {order: orderId, phone, consent, locale}});
  return <OrderStatusView data={result.data} t={t} onSms={onSms} slot={Boolean(fulfillmentId)} />;
}

export function ThankYouApp({shopify}) {
  const locale = useLocale(shopify);
  const t = translator(locale);
  const confirmation = shopify.orderConfirmation && shopify.orderConfirmation.value;
  const orderId = confirmation && confirmation.order && confirmation.order.id;
  // A guest proves the order with the checkout's email, as on the tracking page (a logged-in buyer's token does).
  const email = shopify.buyerIdentity && shopify.buyerIdentity.email && shopify.buyerIdentity.email.value;
  const [result, setResult] = useState(null);
  useEffect(() => {
    if (!orderId) return;
    callBackend(shopify, '/ext/checkout/thank-you', {method: 'POST', body: {order: orderId, email, locale}}).then(
      setResult,
    );
  }, [orderId, email, locale]);
  if (!orderId || !result || !result.ok) return null;
  const onSms = ({phone, consent}) =>
    callBackend(shopify, '/ext/checkout/sms', {method: 'POST', body: {order: orderId, email, phone, consent, locale}});
  const onAnswer = (answer) =>
    callBackend(shopify, '/ext/checkout/answer', {method: 'POST', body: {order: orderId, email, answer, locale}});
  return <ThankYouView data={result.data} t={t} onSms={onSms} onAnswer={onAnswer} />;
}

import '@shopify/ui-extensions/preact';
import {render} from 'preact';

import {OrderStatusApp} from '../../shared/apps.jsx';

// customer-account.order-status.fulfillment-details.render-after: the parcel of this fulfilment card.
export default async () => {
  render(<OrderStatusApp shopify={shopify} fulfillmentId={shopify.fulfillmentId} />, document.body);
};

import '@shopify/ui-extensions/preact';
import {render} from 'preact';

import {OrderStatusApp} from '../../shared/apps.jsx';

// customer-account.order-status.block.render: every parcel of the order, and what the buyer can do next.
export default async () => {
  render(<OrderStatusApp shopify={shopify} />, document.body);
};

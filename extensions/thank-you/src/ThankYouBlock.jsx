import '@shopify/ui-extensions/preact';
import {render} from 'preact';

import {ThankYouApp} from '../../shared/apps.jsx';

// purchase.thank-you.block.render: the order will be tracked, updates by text or LINE, the shop's one question.
export default async () => {
  render(<ThankYouApp shopify={shopify} />, document.body);
};

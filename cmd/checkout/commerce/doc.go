// Package commerce is Akinon Commerce's side of a redirection payment, as
// far as a checkout needs it: the checkout pages of Akinon's "Payment
// Related" API (PaymentOptionSelectionPage, RedirectionPaymentSelectedPage,
// ThankYouPage, in their context_list / page_context / page_name shapes),
// the returnUrl that receives the shopper back from the gateway, the webhook
// endpoint at /orders/hooks/payment, and the back-office calls Commerce makes
// to the gateway: start-session, purchase, refund, void and history.
//
// It keeps its orders in memory. It is the shop the checkout driver runs
// its scenarios against; it is not a shop anyone should sell from.
package commerce

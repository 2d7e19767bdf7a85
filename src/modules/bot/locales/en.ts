/** English (Fluent syntax): for Telegram users whose app is in English. */
export default `
welcome = Hello, { $name }! I am the { $store } store's bot: browse the products, see the stock as it is now, and order here.
commands =
    /menu — categories and products
    /produtos <term> — search products
    /carrinho — your cart
    /pedidos — your orders
    /site — our website
    /social — our social networks
    /ajuda — this help
how-to-link = To order, link your account: on the website, create a link code (POST /telegram/link-code) and send /start followed by the code here.
linked-as = Your account is linked: you can order.
linked = Account linked! You can now order from your cart.
link-invalid = This link code is no longer valid (already used or expired). Create another on the website.
unlinked = Account unlinked. You can still browse the products.
not-linked-yet = You had no linked account.
need-link = To order, first link your account: create a code on the website and send /start followed by the code.

menu-title = Choose a category:
menu-empty = The store has no products yet.
category-count = { $count ->
    [one] 1 product
   *[other] { $count } products
}
page-empty = Nothing here right now.
stock = { $stock ->
    [0] sold out
   *[other] { $stock } in stock
}
price = Price: { $price }
stock-line = Stock: { $stock ->
    [0] sold out
   *[other] { $stock }
}
search-usage = Write what you are looking for after the command, e.g. /produtos lemon
search-title = Results for “{ $term }”
search-empty = Nothing found for “{ $term }”. See the categories in /menu.
unknown-command = I do not know the command { $command }. See what I can do in /ajuda.
unknown-update = I did not understand. See /ajuda.

button-prev = ◀ Previous
button-next = Next ▶
button-categories = ⬅ Categories
button-add = ➕ Add to cart
button-cart = 🛒 Cart
button-refresh = 🔄 Refresh
button-checkout = ✅ Place order
button-clear = 🗑 Empty cart
button-orders = 📦 My orders
button-pay-card = 💳 Pay by card
button-pay-credit = 💰 Pay with store credit
button-cancel = ✖ Cancel order
button-open = Open in the bot
button-site = 🌐 Store website

added = { $name } in your cart ({ $quantity }).
sold-out = { $name } is sold out.
only-left = Only { $available } of { $name } in stock.
gone = This product no longer exists.
cart-empty = Your cart is empty. See the products in /menu.
cart-title = Your cart
cart-total = Total: { $total }
cart-cleared = Cart emptied.
cart-stale = This cart has changed or has already been ordered.

order-reserved = Order #{ $id } reserved: { $total }. Pay within { $minutes } minutes, or the reservation is released.
order-queued = Order #{ $id } received: the stock reservation is queued. Follow it in /pedidos.
order-out-of-stock = Only { $available } of { $name } in stock. Adjust your cart and try again.
order-unknown-product = { $name } no longer exists and left your cart.
order-contention = Many orders right now; please try again.
order-too-large = This order's total is over the store's limit; split it into smaller orders.
orders-empty = You have no orders yet.
orders-title = Your orders
order-title = Order #{ $id }
order-status = Status: { $status }
order-total = Total: { $total }
status = { $status ->
    [pending] queued
    [reserved] reserved, awaiting payment
    [paid] paid
    [cancelled] cancelled
    [rejected] rejected (out of stock)
    [payment_failed] payment refused
   *[other] { $status }
}
payment-started = Payment sent to the card. The order is paid once it confirms: tap Refresh.
payment-status = Payment: { $status ->
    [queued] queued
    [processing] processing
    [processed] approved
    [failed] refused
   *[other] { $status }
}
not-payable = This order is { $status } and cannot be paid.
paid-with-credit = Order #{ $id } paid with store credit: { $total }. Balance: { $balance }.
insufficient-credit = Not enough store credit: your balance is { $balance } and the order costs { $total }.
order-cancelled = Order #{ $id } cancelled; its stock went back to the store.
not-cancellable = This order is { $status } and cannot be cancelled.
being-paid = This order's payment is under way.
not-yours = Order not found.

site = Visit our website:
site-missing = The store has no website configured yet.
social = Follow the store:
social-missing = The store has no social networks configured yet.
flood = Easy! Too many messages in a row; try again in a few seconds.
button-expired = This button is no longer valid; use /menu.
nothing-changed = Nothing changed.
error = Something went wrong on our side. Please try again shortly.
inline-open-bot = Open the bot to see and order.

cmd-start = Start and commands
cmd-menu = Categories and products
cmd-produtos = Search products: /produtos <term>
cmd-carrinho = Your cart
cmd-pedidos = Your orders
cmd-site = Our website
cmd-social = Our social networks
cmd-ajuda = Help
cmd-desvincular = Unlink your account
`;

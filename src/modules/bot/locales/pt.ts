/** Portuguese, the store's customers' language and the default (Fluent syntax). */
export default `
welcome = Olá, { $name }! Eu sou o bot da loja { $store }: veja os produtos, o estoque de agora, e faça seu pedido por aqui.
commands =
    /menu — categorias e produtos
    /produtos <termo> — buscar produtos
    /carrinho — seu carrinho
    /pedidos — seus pedidos
    /site — nosso site
    /social — nossas redes sociais
    /ajuda — esta ajuda
how-to-link = Para fazer pedidos, vincule sua conta: no site, gere um código de vínculo (POST /telegram/link-code) e envie aqui /start seguido do código.
linked-as = Sua conta está vinculada: você já pode fazer pedidos.
linked = Conta vinculada! Agora você pode fazer pedidos pelo carrinho.
link-invalid = Este código de vínculo não vale mais (já usado ou expirado). Gere outro no site.
unlinked = Conta desvinculada. Você continua podendo ver os produtos.
not-linked-yet = Você não tinha uma conta vinculada.
need-link = Para fazer pedidos, vincule primeiro sua conta: gere um código no site e envie /start seguido do código.

menu-title = Escolha uma categoria:
menu-empty = Ainda não há produtos na loja.
category-count = { $count ->
    [one] 1 produto
   *[other] { $count } produtos
}
page-empty = Nada aqui agora.
stock = { $stock ->
    [0] esgotado
    [one] 1 em estoque
   *[other] { $stock } em estoque
}
price = Preço: { $price }
stock-line = Estoque: { $stock ->
    [0] esgotado
   *[other] { $stock }
}
search-usage = Escreva o que procura depois do comando, por exemplo: /produtos limão
search-title = Resultados para “{ $term }”
search-empty = Nada encontrado para “{ $term }”. Veja as categorias em /menu.
unknown-command = Não conheço o comando { $command }. Veja o que sei fazer em /ajuda.
unknown-update = Não entendi. Veja /ajuda.

button-prev = ◀ Anteriores
button-next = Próximos ▶
button-categories = ⬅ Categorias
button-add = ➕ Adicionar ao carrinho
button-cart = 🛒 Carrinho
button-refresh = 🔄 Atualizar
button-checkout = ✅ Fazer pedido
button-clear = 🗑 Esvaziar
button-orders = 📦 Meus pedidos
button-pay-card = 💳 Pagar com cartão
button-pay-credit = 💰 Pagar com crédito
button-cancel = ✖ Cancelar pedido
button-open = Ver no bot
button-site = 🌐 Site da loja

added = { $name } no carrinho ({ $quantity }).
sold-out = { $name } está esgotado.
only-left = Só há { $available } de { $name } em estoque.
gone = Este produto não existe mais.
cart-empty = Seu carrinho está vazio. Veja os produtos em /menu.
cart-title = Seu carrinho
cart-total = Total: { $total }
cart-cleared = Carrinho esvaziado.
cart-stale = Este carrinho mudou ou já virou pedido.

order-reserved = Pedido #{ $id } reservado: { $total }. Pague em até { $minutes } minutos, ou a reserva é desfeita.
order-queued = Pedido #{ $id } recebido: a reserva do estoque está na fila. Acompanhe em /pedidos.
order-out-of-stock = Só há { $available } de { $name } em estoque. Ajuste o carrinho e tente de novo.
order-unknown-product = { $name } não existe mais e saiu do carrinho.
order-contention = Muita procura neste momento; tente de novo.
order-too-large = O total deste pedido passa do limite da loja; divida-o em pedidos menores.
orders-empty = Você ainda não fez pedidos.
orders-title = Seus pedidos
order-title = Pedido #{ $id }
order-status = Situação: { $status }
order-total = Total: { $total }
status = { $status ->
    [pending] na fila
    [reserved] reservado, aguardando pagamento
    [paid] pago
    [cancelled] cancelado
    [rejected] recusado (sem estoque)
    [payment_failed] pagamento recusado
   *[other] { $status }
}
payment-started = Pagamento enviado ao cartão. O pedido fica pago quando ele confirmar: toque em Atualizar.
payment-status = Pagamento: { $status ->
    [queued] na fila
    [processing] em processamento
    [processed] aprovado
    [failed] recusado
   *[other] { $status }
}
not-payable = Este pedido está { $status } e não pode ser pago.
paid-with-credit = Pedido #{ $id } pago com crédito da loja: { $total }. Saldo: { $balance }.
insufficient-credit = Crédito insuficiente: seu saldo é { $balance } e o pedido custa { $total }.
order-cancelled = Pedido #{ $id } cancelado; o estoque voltou para a loja.
not-cancellable = Este pedido está { $status } e não pode ser cancelado.
being-paid = O pagamento deste pedido está em andamento.
not-yours = Pedido não encontrado.

site = Visite nosso site:
site-missing = A loja ainda não tem um site configurado.
social = Siga a loja:
social-missing = A loja ainda não tem redes sociais configuradas.
flood = Calma! Muitas mensagens seguidas; tente de novo em alguns segundos.
button-expired = Este botão não vale mais; use /menu.
nothing-changed = Nada mudou.
error = Algo deu errado do nosso lado. Tente de novo em instantes.
inline-open-bot = Abra o bot para ver e pedir.

cmd-start = Início e comandos
cmd-menu = Categorias e produtos
cmd-produtos = Buscar produtos: /produtos <termo>
cmd-carrinho = Seu carrinho
cmd-pedidos = Seus pedidos
cmd-site = Nosso site
cmd-social = Nossas redes sociais
cmd-ajuda = Ajuda
cmd-desvincular = Desvincular sua conta
`;

// The web page of the gateway (services/gateway): plain JavaScript, no build step. Each action
// is one REST call; order updates and the chat are WebSockets. Status codes and error bodies
// are grpc-gateway's ({"code","message","details"}).
"use strict";

const $ = (id) => document.getElementById(id);
const state = { user: null, product: null, watch: null, chat: null, chatId: 0 };
const wsBase = (location.protocol === "https:" ? "wss://" : "ws://") + location.host;

function showError(text) { $("error").textContent = text || ""; }

async function call(method, path, body, headers) {
  const init = { method, headers: Object.assign({}, headers) };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  const text = await response.text();
  const data = text ? JSON.parse(text) : {};
  if (!response.ok) {
    throw new Error(response.status + " " + (data.message || response.statusText));
  }
  return data;
}

function guarded(fn) {
  return async (event) => {
    if (event) event.preventDefault();
    showError("");
    try { await fn(); } catch (e) { showError(e.message); }
  };
}

function money(m) { return m ? (Number(m.amountMinor) / 100).toFixed(2) + " " + m.currency : ""; }
function shortStatus(s) { return (s || "").replace("ORDER_STATUS_", ""); }

function watchOrders(userId) {
  if (state.watch) state.watch.close();
  const ws = new WebSocket(wsBase + "/v1/orders/stream?user_id=" + encodeURIComponent(userId));
  ws.onmessage = (event) => {
    const update = JSON.parse(event.data);
    if (!update.status) return;
    $("order-status").textContent = shortStatus(update.status);
    const item = document.createElement("li");
    item.textContent = shortStatus(update.status) + " (" + update.orderId.slice(-8) + ")" +
        (update.order && update.order.failureReason ? ": " + update.order.failureReason : "");
    $("order-events").appendChild(item);
  };
  ws.onclose = (event) => {
    if (event.code !== 1000 && state.watch === ws) showError("watch closed: " + event.code + " " + event.reason);
  };
  state.watch = ws;
  return new Promise((resolve) => { ws.onopen = resolve; });
}

$("user-email").value = "ada" + Date.now() + "@example.com";
$("product-sku").value = "MUG-" + Date.now();

$("user-form").onsubmit = guarded(async () => {
  const user = await call("POST", "/v1/users", { name: $("user-name").value, email: $("user-email").value });
  state.user = user;
  $("user-out").textContent = "User " + user.id + " (" + user.email + ")";
  await watchOrders(user.id);
});

$("product-form").onsubmit = guarded(async () => {
  const product = await call("POST", "/v1/products", {
    sku: $("product-sku").value, name: $("product-name").value,
    price: { currency: "EUR", amountMinor: String($("product-price").value) },
    initialStock: String($("product-stock").value),
  });
  state.product = product;
  $("product-out").textContent = product.sku + ": " + product.name + ", " + money(product.price) +
      ", " + product.available + " available";
});

$("order-form").onsubmit = guarded(async () => {
  if (!state.user || !state.product) throw new Error("create a user and a product first");
  $("order-events").textContent = "";
  $("order-status").textContent = "…";
  const key = "web-" + Date.now() + "-" + Math.random().toString(16).slice(2);
  const order = await call("POST", "/v1/orders", {
    userId: state.user.id,
    items: [{ sku: state.product.sku, quantity: String($("order-quantity").value) }],
    paymentMethod: { token: $("order-token").value },
  }, { "Idempotency-Key": key });
  state.lastOrder = order;
  await listOrders();
});

async function listOrders() {
  if (!state.user) throw new Error("create a user first");
  const page = await call("GET", "/v1/users/" + state.user.id + "/orders?page_size=50");
  const body = $("orders").querySelector("tbody");
  body.textContent = "";
  for (const order of page.orders) {
    const row = body.insertRow();
    row.insertCell().textContent = order.id.slice(-12);
    row.insertCell().textContent = shortStatus(order.status);
    row.insertCell().textContent = money(order.total);
    const cell = row.insertCell();
    if (order.status !== "ORDER_STATUS_CANCELLED" && order.status !== "ORDER_STATUS_FAILED") {
      const cancel = document.createElement("button");
      cancel.textContent = "Cancel";
      cancel.className = "cancel";
      cancel.onclick = guarded(async () => {
        await call("POST", "/v1/orders/" + order.id + ":cancel", {});
        await listOrders();
      });
      cell.appendChild(cancel);
    }
  }
}
$("list-orders").onclick = guarded(listOrders);

function chatLine(text, mine) {
  const p = document.createElement("p");
  p.className = mine ? "me" : "agent";
  p.textContent = (mine ? "you: " : "support: ") + text;
  $("chat-log").appendChild(p);
  $("chat-log").scrollTop = $("chat-log").scrollHeight;
}

function openChat() {
  const ws = new WebSocket(wsBase + "/v1/support/chat");
  ws.onmessage = (event) => chatLine(JSON.parse(event.data).text, false);
  ws.onclose = (event) => {
    if (state.chat === ws) state.chat = null;
    if (event.code !== 1000) chatLine("(chat closed: " + event.code + " " + event.reason + ")", false);
  };
  state.chat = ws;
  return new Promise((resolve) => { ws.onopen = resolve; });
}

$("chat-form").onsubmit = guarded(async () => {
  const text = $("chat-text").value.trim();
  if (!text) return;
  if (!state.chat) await openChat();
  state.chatId += 1;
  const message = { messageId: String(state.chatId), text };
  if (state.user) message.userId = state.user.id;
  state.chat.send(JSON.stringify(message));
  chatLine(text, true);
  $("chat-text").value = "";
});

// Node's grpc-js (npm @grpc/grpc-js, a client percore did not write) against a running
// percore-server: the interop cases grpc-js itself is tested with, and the seed's user.v1 and
// order.v1 calls. Usage: node grpcjs_client.mjs HOST:PORT PROTO_ROOT
// Prints "ok NAME" per passing case and "FAIL NAME: why" per failing one; exits 1 on any failure.
import assert from "node:assert/strict";
import process from "node:process";

import grpc from "@grpc/grpc-js";
import protoLoader from "@grpc/proto-loader";

const [address, protoRoot] = process.argv.slice(2);
const definitions = protoLoader.loadSync(
    ["grpc/testing/test.proto", "user/v1/user.proto", "order/v1/order.proto"],
    {includeDirs: [protoRoot, "/usr/include"], keepCase: true, longs: String, enums: String,
     defaults: true});
const loaded = grpc.loadPackageDefinition(definitions);
const credentials = grpc.credentials.createInsecure();
const testService = new loaded.grpc.testing.TestService(address, credentials);
const users = new loaded.user.v1.UserService(address, credentials);
const orders = new loaded.order.v1.OrderService(address, credentials);

const deadline = (ms = 5000) => ({deadline: Date.now() + ms});

// A unary call as a promise: resolves with {response, trailers}, rejects with the grpc-js error.
function unary(client, method, request, metadata = new grpc.Metadata(), options = deadline()) {
  return new Promise((resolve, reject) => {
    let trailers;
    const call = client[method](request, metadata, options, (error, response) =>
        error ? reject(error) : resolve({response, trailers, call}));
    call.on("status", (status) => { trailers = status.metadata; });
  });
}

// Every message of a server stream and its final status.
function collect(call) {
  return new Promise((resolve) => {
    const messages = [];
    call.on("data", (m) => messages.push(m));
    call.on("error", () => {});  // the status event carries the outcome
    call.on("status", (status) => resolve({messages, status}));
  });
}

async function rejected(promise) {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  assert.fail("the call succeeded; an error status was expected");
}

const zeros = (n) => Buffer.alloc(n);

const cases = {
  async empty_unary() {
    const {response} = await unary(testService, "EmptyCall", {});
    assert.deepEqual(response, {});
  },
  async large_unary() {
    const {response} = await unary(testService, "UnaryCall",
                                   {response_size: 314159, payload: {body: zeros(271828)}});
    assert.equal(response.payload.body.length, 314159);
  },
  async client_streaming() {
    const total = await new Promise((resolve, reject) => {
      const call = testService.StreamingInputCall(deadline(), (error, response) =>
          error ? reject(error) : resolve(response.aggregated_payload_size));
      for (const size of [27182, 8, 1828, 45904]) call.write({payload: {body: zeros(size)}});
      call.end();
    });
    assert.equal(total, 74922);
  },
  async server_streaming() {
    const sizes = [31415, 9, 2653, 58979];
    const {messages, status} = await collect(testService.StreamingOutputCall(
        {response_parameters: sizes.map((size) => ({size}))}, deadline()));
    assert.equal(status.code, grpc.status.OK);
    assert.deepEqual(messages.map((m) => m.payload.body.length), sizes);
  },
  async ping_pong() {
    const call = testService.FullDuplexCall(deadline());
    const sizes = [[31415, 27182], [9, 8], [2653, 1828], [58979, 45904]];
    const received = [];
    const done = collect(call);
    for (const [responseSize, requestSize] of sizes) {
      const next = new Promise((resolve) => call.once("data", resolve));
      call.write({response_parameters: [{size: responseSize}],
                  payload: {body: zeros(requestSize)}});
      received.push((await next).payload.body.length);  // one answer per request, in turn
    }
    call.end();
    const {status} = await done;
    assert.equal(status.code, grpc.status.OK);
    assert.deepEqual(received, sizes.map(([responseSize]) => responseSize));
  },
  async empty_stream() {
    const call = testService.FullDuplexCall(deadline());
    const done = collect(call);
    call.end();
    const {messages, status} = await done;
    assert.equal(status.code, grpc.status.OK);
    assert.equal(messages.length, 0);
  },
  async custom_metadata() {
    const metadata = new grpc.Metadata();
    metadata.set("x-grpc-test-echo-initial", "test_initial_metadata_value");
    metadata.set("x-grpc-test-echo-trailing-bin", Buffer.from([0xab, 0xab, 0xab]));
    const call = testService.UnaryCall({response_size: 314159, payload: {body: zeros(271828)}},
                                       metadata, deadline(), () => {});
    const [headers, status] = await Promise.all([
      new Promise((resolve) => call.on("metadata", resolve)),
      new Promise((resolve) => call.on("status", resolve)),
    ]);
    assert.deepEqual(headers.get("x-grpc-test-echo-initial"), ["test_initial_metadata_value"]);
    assert.equal(status.code, grpc.status.OK);
    assert.deepEqual(status.metadata.get("x-grpc-test-echo-trailing-bin"),
                     [Buffer.from([0xab, 0xab, 0xab])]);
  },
  async status_code_and_message() {
    const request = {response_status: {code: 2, message: "test status message"}};
    const error = await rejected(unary(testService, "UnaryCall", request));
    assert.equal(error.code, grpc.status.UNKNOWN);
    assert.equal(error.details, "test status message");
  },
  async special_status_message() {
    const text = "\t\ntest with whitespace\r\nand Unicode BMP ☺ and non-BMP 😈\t\n";
    const error = await rejected(unary(testService, "UnaryCall",
                                       {response_status: {code: 2, message: text}}));
    assert.equal(error.code, grpc.status.UNKNOWN);
    assert.equal(error.details, text);  // percent-encoded on the wire, decoded by grpc-js
  },
  async unimplemented_method() {
    const error = await rejected(unary(testService, "UnimplementedCall", {}));
    assert.equal(error.code, grpc.status.UNIMPLEMENTED);
  },
  async timeout_on_sleeping_server() {
    const call = testService.FullDuplexCall(deadline(1));
    const done = collect(call);
    call.write({payload: {body: zeros(27182)}});
    const {status} = await done;
    assert.equal(status.code, grpc.status.DEADLINE_EXCEEDED);
  },
  async cancel_after_first_response() {
    const call = testService.FullDuplexCall(deadline());
    const done = collect(call);
    const first = new Promise((resolve) => call.once("data", resolve));
    call.write({response_parameters: [{size: 31415}], payload: {body: zeros(27182)}});
    assert.equal((await first).payload.body.length, 31415);
    call.cancel();
    const {status} = await done;
    assert.equal(status.code, grpc.status.CANCELLED);
  },
  async user_create_get_update_delete() {
    const email = `grpcjs-${process.pid}-${Date.now()}@example.com`;
    const {response: created} = await unary(users, "CreateUser", {name: "Ada JS", email});
    assert.ok(created.id.length > 0);
    assert.equal(created.email, email);
    const {response: got} = await unary(users, "GetUser", {id: created.id});
    assert.equal(got.name, "Ada JS");
    assert.ok(Number(got.created_at.seconds) > 0);
    const {response: renamed} = await unary(users, "UpdateUser",
                                            {id: created.id, name: "Ada Lovelace JS"});
    assert.equal(renamed.name, "Ada Lovelace JS");
    await unary(users, "DeleteUser", {id: created.id});
    const gone = await rejected(unary(users, "GetUser", {id: created.id}));
    assert.equal(gone.code, grpc.status.NOT_FOUND);
  },
  async user_bad_input_names_the_field() {
    const error = await rejected(unary(users, "CreateUser", {name: "No Email", email: "nope"}));
    assert.equal(error.code, grpc.status.INVALID_ARGUMENT);
    assert.match(error.details, /email/);
  },
  async list_users_pages_stream_every_user() {
    const stamp = `${process.pid}-${Date.now()}`;
    const ids = new Set();
    for (let i = 0; i < 30; i++) {
      const {response} = await unary(users, "CreateUser",
                                     {name: `List ${i}`, email: `list-${i}-${stamp}@example.com`});
      ids.add(response.id);
    }
    const {messages, status} = await collect(users.ListUsers({page_size: 1000}, deadline()));
    assert.equal(status.code, grpc.status.OK);
    const seen = new Set(messages.map((u) => u.id));
    for (const id of ids) assert.ok(seen.has(id), `ListUsers misses ${id}`);
    assert.equal(seen.size, messages.length, "a user was streamed twice");
  },
  async watch_user_updates_sees_an_update() {
    const email = `watch-${process.pid}-${Date.now()}@example.com`;
    const {response: user} = await unary(users, "CreateUser", {name: "Watched", email});
    const call = users.WatchUserUpdates({user_id: user.id}, deadline());
    const done = collect(call);
    const update = new Promise((resolve) => call.on("data", (u) => {
      if (u.type === "UPDATE_TYPE_UPDATED") resolve(u);
    }));
    // The watch is registered once its headers arrive; retry the update until it is seen.
    let seen;
    for (let attempt = 0; attempt < 50 && !seen; attempt++) {
      await unary(users, "UpdateUser", {id: user.id, name: `Watched ${attempt}`});
      seen = await Promise.race([update, new Promise((r) => setTimeout(r, 100))]);
    }
    assert.ok(seen, "no UPDATE_TYPE_UPDATED arrived on the watch");
    assert.equal(seen.user_id, user.id);
    call.cancel();
    assert.equal((await done).status.code, grpc.status.CANCELLED);
  },
  async chat_session_answers_each_message() {
    const call = orders.ChatSession(deadline());
    const done = collect(call);
    const replies = [];
    for (const [id, text] of [[1, "hello"], [2, "help"]]) {
      const next = new Promise((resolve) => call.once("data", resolve));
      call.write({message_id: id, text});
      replies.push(await next);
    }
    call.end();
    const {status} = await done;
    assert.equal(status.code, grpc.status.OK);
    assert.deepEqual(replies.map((r) => Number(r.in_reply_to)), [1, 2]);
    for (const reply of replies) assert.ok(reply.text.length > 0);
  },
};

let failed = 0;
for (const [name, run] of Object.entries(cases)) {
  try {
    await run();
    console.log(`ok ${name}`);
  } catch (error) {
    failed++;
    console.log(`FAIL ${name}: ${error.stack || error}`);
  }
}
testService.close();
users.close();
orders.close();
process.exit(failed ? 1 : 0);

// order.v1.OrderService.ChatSession end to end: one reply per message in send order with many
// messages in flight (status lookups on both shards mixed with text answered at once), the
// agent's rules, half-close finishing OK after the last reply, and cancellation freeing
// everything.

#include <grpcpp/client_context.h>
#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "tests/services/order/order_test_support.h"
#include "tests/testing/client_queue.h"

namespace percore::order_test {
namespace {

using Chat = grpc::ClientReaderWriter<v1::ChatMessage, v1::ChatResponse>;

v1::ChatMessage Message(uint64_t id, const std::string& text, const std::string& user_id = "") {
  v1::ChatMessage message;
  message.set_message_id(id);
  message.set_text(text);
  message.set_user_id(user_id);
  return message;
}

class OrderChatTest : public OrderServiceTest {
 protected:
  order::OrderServiceOptions OrderOptions() override {
    order::OrderServiceOptions options;
    options.chat_in_flight_limit = 8;  // small, so reading pauses and resumes many times
    return options;
  }

  // One confirmed order for a user of each order shard.
  void MakeOrders() {
    std::string sku = SkuOnShard("sku", 0);
    MustCreateProduct(sku, 100);
    for (size_t shard = 0; shard < kShards; ++shard) {
      std::string user = MustCreateUserOnShard(shard);
      v1::Order order = MustCreateOrder(OrderRequest(user, {{sku, 1}}));
      ASSERT_TRUE(Ended(order, v1::ORDER_STATUS_CONFIRMED));
      orders_.push_back(order);
    }
  }

  std::vector<v1::Order> orders_;
};

TEST_F(OrderChatTest, AnswersTheAgentsRules) {
  MakeOrders();
  ClientContext context;
  SetDeadline(context);
  std::unique_ptr<Chat> chat = stub_->ChatSession(&context);
  const v1::Order& order = orders_[0];
  ASSERT_TRUE(chat->Write(Message(1, "help")));
  ASSERT_TRUE(chat->Write(Message(2, "  STATUS   " + order.id() + "  ")));
  ASSERT_TRUE(chat->Write(Message(3, "status")));
  ASSERT_TRUE(chat->Write(Message(4, "status 42")));
  ASSERT_TRUE(chat->Write(Message(5, "status " + std::string(kUnknownOrderId))));
  ASSERT_TRUE(chat->Write(Message(6, "where is my parcel?")));
  // With user_id set, only that user's orders are visible.
  ASSERT_TRUE(chat->Write(Message(7, "status " + order.id(), orders_[1].user_id())));
  ASSERT_TRUE(chat->Write(Message(8, "status " + order.id(), order.user_id())));
  ASSERT_TRUE(chat->WritesDone());

  std::vector<v1::ChatResponse> replies;
  v1::ChatResponse reply;
  while (chat->Read(&reply)) replies.push_back(reply);
  Status status = chat->Finish();
  ASSERT_TRUE(status.ok()) << Describe(status);
  ASSERT_EQ(replies.size(), 8u);
  for (size_t i = 0; i < replies.size(); ++i) {
    EXPECT_EQ(replies[i].in_reply_to(), i + 1);
    EXPECT_TRUE(replies[i].has_sent_at());
  }
  EXPECT_NE(replies[0].text().find("status <order id>"), std::string::npos) << replies[0].text();
  EXPECT_EQ(replies[1].order_id(), order.id());
  EXPECT_EQ(replies[1].order_status(), v1::ORDER_STATUS_CONFIRMED);
  EXPECT_NE(replies[1].text().find("confirmed"), std::string::npos) << replies[1].text();
  EXPECT_TRUE(replies[2].order_id().empty());
  EXPECT_NE(replies[2].text().find("Which order"), std::string::npos) << replies[2].text();
  EXPECT_NE(replies[3].text().find("\"42\" is not an order id"), std::string::npos)
      << replies[3].text();
  EXPECT_TRUE(replies[4].order_id().empty());
  EXPECT_NE(replies[4].text().find("could not find order"), std::string::npos);
  EXPECT_NE(replies[5].text().find("help"), std::string::npos) << replies[5].text();
  EXPECT_TRUE(replies[6].order_id().empty()) << "another user's order was shown";
  EXPECT_EQ(replies[7].order_id(), order.id());
}

TEST_F(OrderChatTest, ManyMessagesInFlightAreAnsweredOnceEachInSendOrder) {
  constexpr int kMessages = 2000;
  MakeOrders();
  auto stub = NewStub();
  ClientContext context;
  SetDeadline(context, 60s);
  std::unique_ptr<Chat> chat = stub->ChatSession(&context);
  // The writer sends everything before anyone reads: the server pauses reading past its
  // in-flight limit and resumes as replies go out, so this only finishes if that works.
  std::vector<std::string> kinds(kMessages);
  std::thread writer([&] {
    for (int i = 0; i < kMessages; ++i) {
      std::string text;
      switch (i % 4) {
        case 0:
          text = "status " + orders_[0].id();  // one shard
          break;
        case 1:
          text = "status " + orders_[1].id();  // the other
          break;
        case 2:
          text = "help";  // answered at once, but must wait its turn
          break;
        default:
          text = "status " + std::string(kUnknownOrderId);
      }
      if (!chat->Write(Message(1000 + i, text))) return;
    }
    chat->WritesDone();
  });
  int received = 0;
  v1::ChatResponse reply;
  while (chat->Read(&reply)) {
    ASSERT_EQ(reply.in_reply_to(), static_cast<uint64_t>(1000 + received))
        << "reply " << received << " out of order";
    switch (received % 4) {
      case 0:
        EXPECT_EQ(reply.order_id(), orders_[0].id());
        EXPECT_EQ(reply.order_status(), v1::ORDER_STATUS_CONFIRMED);
        break;
      case 1:
        EXPECT_EQ(reply.order_id(), orders_[1].id());
        break;
      case 2:
        EXPECT_TRUE(reply.order_id().empty());
        EXPECT_NE(reply.text().find("status <order id>"), std::string::npos);
        break;
      default:
        EXPECT_TRUE(reply.order_id().empty());
    }
    ++received;
  }
  writer.join();
  Status status = chat->Finish();
  EXPECT_TRUE(status.ok()) << Describe(status);
  EXPECT_EQ(received, kMessages);
  EXPECT_TRUE(WaitFor([&] { return OpenChats() == 0; }, 10s));
}

TEST_F(OrderChatTest, HalfCloseFinishesOkAfterTheLastReply) {
  MakeOrders();
  {
    // No message at all: OK at once.
    ClientContext context;
    SetDeadline(context);
    std::unique_ptr<Chat> chat = stub_->ChatSession(&context);
    ASSERT_TRUE(chat->WritesDone());
    v1::ChatResponse reply;
    EXPECT_FALSE(chat->Read(&reply));
    EXPECT_TRUE(chat->Finish().ok());
  }
  // Lookups still in flight when the client half-closes are answered before the end.
  ClientContext context;
  SetDeadline(context);
  std::unique_ptr<Chat> chat = stub_->ChatSession(&context);
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(chat->Write(Message(i, "status " + orders_[i % 2].id())));
  }
  ASSERT_TRUE(chat->WritesDone());
  int received = 0;
  v1::ChatResponse reply;
  while (chat->Read(&reply)) {
    EXPECT_EQ(reply.in_reply_to(), static_cast<uint64_t>(received));
    EXPECT_EQ(reply.order_id(), orders_[received % 2].id());
    ++received;
  }
  Status status = chat->Finish();
  EXPECT_TRUE(status.ok()) << Describe(status);
  EXPECT_EQ(received, 20);
}

TEST_F(OrderChatTest, ChatStaysOpenUntilTheClientHalfCloses) {
  ClientContext context;
  SetDeadline(context);
  std::unique_ptr<Chat> chat = stub_->ChatSession(&context);
  // A conversation: each reply comes while the stream stays open.
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(chat->Write(Message(i, "hello")));
    v1::ChatResponse reply;
    ASSERT_TRUE(chat->Read(&reply));
    EXPECT_EQ(reply.in_reply_to(), static_cast<uint64_t>(i));
  }
  ASSERT_TRUE(chat->WritesDone());
  v1::ChatResponse extra;
  EXPECT_FALSE(chat->Read(&extra));
  EXPECT_TRUE(chat->Finish().ok());
}

TEST_F(OrderChatTest, CancelledChatsFreeEverything) {
  constexpr int kChats = 20;
  MakeOrders();
  struct Open {
    ClientContext context;
    std::unique_ptr<Chat> stream;
  };
  std::vector<std::unique_ptr<Stub>> stubs;
  std::vector<std::unique_ptr<Open>> chats;
  for (int i = 0; i < kChats; ++i) {
    stubs.push_back(NewStub());
    auto open = std::make_unique<Open>();
    SetDeadline(open->context);
    open->stream = stubs.back()->ChatSession(&open->context);
    // Some replies will be waiting, unread, when the chat is cancelled.
    for (int m = 0; m < 30; ++m) {
      ASSERT_TRUE(open->stream->Write(Message(m, "status " + orders_[m % 2].id())));
    }
    chats.push_back(std::move(open));
  }
  EXPECT_TRUE(WaitFor([&] { return OpenChats() == kChats; }, 10s)) << OpenChats();
  for (auto& open : chats) {
    open->context.TryCancel();
    v1::ChatResponse reply;
    while (open->stream->Read(&reply)) {
    }
    EXPECT_TRUE(HasCode(open->stream->Finish(), StatusCode::CANCELLED));
  }
  EXPECT_TRUE(WaitFor([&] { return OpenChats() == 0; }, 10s)) << OpenChats() << " chats left";
  EXPECT_TRUE(server_->WaitUntilNoCalls(10s));
}

}  // namespace
}  // namespace percore::order_test

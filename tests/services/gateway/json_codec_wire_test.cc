// The gateway's direct JSON writer (services/gateway/json_codec_wire.h) against protobuf's own
// printer (MessageToJsonString with always_print_primitive_fields, the gateway's options): the
// answers' types, every field set or left at its default, escapes, timestamps across protobuf's
// range, and random values; and what it declines (protobuf then prints it).

#include "services/gateway/json_codec_wire.h"

#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>

#include "order/v1/order.pb.h"
#include "services/gateway/json_codec.h"
#include "user/v1/user.pb.h"

namespace percore::gateway {
namespace {

namespace pb = google::protobuf;

std::string Protobufs(const pb::Message& message) {
  pb::util::JsonPrintOptions options;
  options.always_print_primitive_fields = true;
  std::string out;
  EXPECT_TRUE(pb::util::MessageToJsonString(message, &out, options).ok());
  return out;
}

// Printed directly (not declined) and equal to protobuf's printing.
void ExpectSame(const pb::Message& message) {
  std::string direct;
  ASSERT_TRUE(AppendJsonFromWire(message.SerializeAsString(), *message.GetDescriptor(), direct))
      << message.DebugString();
  EXPECT_EQ(direct, Protobufs(message));
  std::string encoded;  // the codec's entry points print the same
  EncodeJson(message, encoded);
  EXPECT_EQ(encoded, direct);
}

void SetTime(pb::Timestamp* t, int64_t seconds, int32_t nanos) {
  t->set_seconds(seconds);
  t->set_nanos(nanos);
}

TEST(JsonCodecWire, UserAsProtobufPrintsIt) {
  user::v1::User user;
  ExpectSame(user);  // every field at its default; no timestamps
  user.set_id("0b9f5c3e-8d1a-4f57-9e0c-2b1d7a6c4e11");
  user.set_name("Ada Lovelace");
  user.set_email("ada@example.com");
  ExpectSame(user);
  user.add_roles("member");
  user.add_roles("admin");
  SetTime(user.mutable_created_at(), 1'764'720'000, 0);
  ExpectSame(user);
  SetTime(user.mutable_updated_at(), 1'764'720'001, 120'000'000);
  ExpectSame(user);
}

TEST(JsonCodecWire, TimestampsAcrossTheRange) {
  user::v1::User user;
  const int64_t seconds[] = {0,
                             1,
                             -1,
                             59,
                             86'399,
                             86'400,
                             -86'400,
                             -86'401,
                             951'782'400,
                             951'868'799,
                             4'107'542'400,
                             -62'135'596'800,
                             253'402'300'799,
                             -2'208'988'800,
                             1'709'164'800,
                             68'169'600};
  const int32_t nanos[] = {0, 1, 1000, 1'000'000, 10, 120'000, 999'999'999, 500'000'000};
  for (int64_t s : seconds) {
    for (int32_t n : nanos) {
      SetTime(user.mutable_created_at(), s, n);
      ExpectSame(user);
    }
  }
}

TEST(JsonCodecWire, EscapesAsProtobufDoes) {
  user::v1::User user;
  std::string all;
  for (int c = 1; c < 0x7f; ++c) all.push_back(static_cast<char>(c));
  all.push_back('\0');
  user.set_name(all);
  user.add_roles("<script>\"&'\\</script>");
  ExpectSame(user);
}

TEST(JsonCodecWire, OrdersAndNestedMessages) {
  order::v1::Order order;
  ExpectSame(order);
  order.set_id("o-1");
  order.set_user_id("u-1");
  order.set_status(order::v1::ORDER_STATUS_CONFIRMED);
  order.set_failure_code(order::v1::FAILURE_CODE_PAYMENT_DECLINED);
  auto* item = order.add_items();
  item->set_sku("sku-1");
  item->set_quantity(-3);
  item->mutable_unit_price()->set_amount_minor(-9'223'372'036'854'775'807 - 1);
  item->mutable_unit_price()->set_currency("USD");
  order.add_items()->set_sku("sku-2");  // unit_price unset
  order.mutable_total();                // present, empty
  SetTime(order.mutable_created_at(), 1'764'720'000, 7);
  ExpectSame(order);
  order::v1::OrderUpdate update;
  *update.mutable_order() = order;
  update.set_previous_status(order::v1::ORDER_STATUS_PAID);
  ExpectSame(update);
  order::v1::ChatResponse chat;
  chat.set_in_reply_to(18'446'744'073'709'551'615ull);
  ExpectSame(chat);
  user::v1::UserUpdate user_update;
  user_update.set_type(user::v1::UserUpdate::UPDATE_TYPE_DELETED);
  user_update.mutable_user()->set_id("x");
  ExpectSame(user_update);
}

TEST(JsonCodecWire, RandomValues) {
  std::mt19937_64 random(11);
  auto text = [&] {
    std::string s(random() % 24, ' ');
    for (char& c : s) c = static_cast<char>(random() % 0x7f);
    return s;
  };
  for (int i = 0; i < 2000; ++i) {
    order::v1::Order order;
    order.set_id(text());
    order.set_failure_reason(text());
    order.set_status(static_cast<order::v1::OrderStatus>(random() % 7));
    for (int n = static_cast<int>(random() % 3); n > 0; --n) {
      auto* item = order.add_items();
      item->set_sku(text());
      item->set_quantity(static_cast<int64_t>(random()));
      item->mutable_unit_price()->set_amount_minor(static_cast<int64_t>(random()) >>
                                                   (random() % 64));
    }
    SetTime(order.mutable_updated_at(),
            static_cast<int64_t>(random() % 315'537'897'600ull) - 62'135'596'800,
            static_cast<int32_t>(random() % 1'000'000'000) /
                static_cast<int32_t>(std::pow(10, random() % 10)));
    ExpectSame(order);
  }
}

TEST(JsonCodecWire, DeclinesWhatItDoesNotPrintAndProtobufStillDoes) {
  std::string out;
  user::v1::User user;
  user.set_name("Zoë");  // not ASCII
  EXPECT_FALSE(AppendJsonFromWire(user.SerializeAsString(), *user.GetDescriptor(), out));
  user.set_name("x");
  SetTime(user.mutable_created_at(), 253'402'300'800, 0);  // past 9999-12-31
  out.clear();
  EXPECT_FALSE(AppendJsonFromWire(user.SerializeAsString(), *user.GetDescriptor(), out));
  user::v1::UpdateUserRequest update;  // proto3 optional: a oneof
  update.set_name("x");
  out.clear();
  EXPECT_FALSE(AppendJsonFromWire(update.SerializeAsString(), *update.GetDescriptor(), out));
  std::string unknown = user::v1::User().SerializeAsString() + std::string("\x48\x01", 2);
  out.clear();
  EXPECT_FALSE(AppendJsonFromWire(unknown, *user::v1::User::descriptor(), out));
  order::v1::Order order;
  order.set_status(static_cast<order::v1::OrderStatus>(42));  // no name
  out.clear();
  EXPECT_FALSE(AppendJsonFromWire(order.SerializeAsString(), *order.GetDescriptor(), out));
  // Declined ones still print as protobuf does, through the codec.
  user.set_name("Zoë");
  SetTime(user.mutable_created_at(), 5, 0);
  EncodeJson(user, out);
  EXPECT_EQ(out, Protobufs(user));
  EncodeJson(order, out);
  EXPECT_EQ(out, Protobufs(order));
  EncodeJson(update, out);
  EXPECT_EQ(out, Protobufs(update));
}

}  // namespace
}  // namespace percore::gateway

#pragma once
// Threading contract: built once on the control thread when auth is configured; the policy is
// read-only afterwards.
//
// percore's access policy (issue 13 item 4), one row per method of every service percore-server
// can host. `admin` may do everything; a user reads and updates their own user and creates,
// reads, lists, cancels and watches their own orders (the order service compares an order's
// owner with the caller: Access::kOwner); listing or watching all users, deleting others,
// creating products and adjusting stock need `admin`; payment and the reservation methods are
// for the `service` role (RefundPayment too: OrderService refunds a cancelled order's charge);
// health and reflection are open. The policy test walks every hosted method, so a method added
// without a row fails it.

#include "core/rpc/access_policy.h"

namespace percore::server {

rpc::AccessPolicy PercoreAccessPolicy();

}  // namespace percore::server

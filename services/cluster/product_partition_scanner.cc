#include "services/cluster/product_partition_scanner.h"

#include <string>
#include <utility>
#include <vector>

#include "inventory/v1/inventory.pb.h"
#include "services/cluster/member_call.h"
#include "services/cluster/member_list_call.h"
#include "services/inventory/sku_page_token.h"

namespace percore::cluster {

inventory::ProductPartitionScanner MakeProductPartitionScanner(const ClusterPlacement& placement,
                                                               std::shared_ptr<MemberLinks> links) {
  std::vector<PartitionId> others;
  for (PartitionId p = 0; p < placement.initial_partitions(); ++p) {
    if (p != placement.self) others.push_back(p);
  }
  inventory::ProductPartitionScanner scanner;
  scanner.sources = others.size();
  scanner.limit_cap = 1000;  // ListProducts' largest page (inventory.proto)
  scanner.scan = [links = std::move(links), others, self = placement.self](
                     size_t source, const std::optional<std::string>& after, size_t limit,
                     std::chrono::system_clock::time_point deadline,
                     std::function<void(Result<inventory::ProductPartitionScanner::Rows>)> done) {
    const PartitionId partition = others.at(source);
    ::inventory::v1::ListProductsRequest list;
    list.set_page_size(static_cast<int32_t>(limit));
    if (after) list.set_page_token(inventory::EncodeSkuPageToken(*after));
    ListFromMember(
        *links, self, partition, "/inventory.v1.InventoryService/ListProducts", list, limit,
        deadline, "products",
        [done = std::move(done),
         who = MemberName(*links, partition)](Result<std::vector<std::string>> messages) {
          if (!messages.ok()) return done(messages.status());
          inventory::ProductPartitionScanner::Rows rows;
          rows.reserve(messages->size());
          for (const std::string& bytes : *messages) {
            ::inventory::v1::Product product;
            if (!product.ParseFromString(bytes)) {
              done(Status(StatusCode::kInternal, who + " sent a product that does not parse"));
              return;
            }
            std::string sku = product.sku();
            rows.emplace_back(std::move(sku), std::move(product));
          }
          done(std::move(rows));
        });
  };
  return scanner;
}

}  // namespace percore::cluster

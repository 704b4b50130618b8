// Who ships a relay to a node that lacks it: the source, or a node already
// running that relay (relay/relay_share.h). The source ships each relay
// binary to `source_slots` nodes; every other node waits for a lender with
// room (each lends to at most `per_donor` nodes at once). So the nodes with
// a relay grow fanout-fold like a tree, and the source's bytes for relays
// stay about `source_slots` copies however many nodes there are
// (docs/design.md, "Relays that travel"). A node that waits longer than
// the patience, or whose fetch failed, gets the source's upload after all;
// once kGiveUp fetches or lends failed and none worked (nodes that cannot
// reach each other, no bash anywhere), nobody waits for a lender again.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace treesync {

struct Donor {
  std::string node;     // its name, for logs and the report
  std::string address;  // numeric IP the fetching node connects to
  int port = 0;
  std::string secret;   // what its tokens are minted from (wire::share_mac)
};

class RelayDonors {
 public:
  // How long a node waits for a lender before the source ships to it anyway:
  // no node waits on another's slow start for long.
  static constexpr auto kPatience = std::chrono::seconds(10);
  static constexpr int kGiveUp = 3;

  RelayDonors(int source_slots, int per_donor, std::chrono::milliseconds patience = kPatience)
      : source_slots_(source_slots), per_donor_(per_donor), patience_(patience) {}

  // One shipment: from `donor` (set) or from the source. Gives the slot back
  // when it ends.
  class Lease {
   public:
    Lease(Lease&& o) noexcept;
    ~Lease();
    const Donor* donor() const { return index_ < 0 ? nullptr : &donor_; }
    // The fetch from the donor worked.
    void fetched();
    // The fetch from the donor failed; `its_fault`: lend from it no more
    // (else the node itself could not fetch: no bash there).
    void failed(bool its_fault);

   private:
    friend class RelayDonors;
    Lease(RelayDonors* owner, std::string hash, int index, Donor donor)
        : owner_(owner), hash_(std::move(hash)), index_(index), donor_(std::move(donor)) {}
    RelayDonors* owner_;
    std::string hash_;
    int index_;  // in owner_->donors_[hash_], or -1: the source (no slot to give back)
    Donor donor_;
  };

  // A lender of relay `hash` with room; else the source, if it has shipped
  // that relay to fewer than `source_slots` nodes; else waits (up to the
  // patience, or until `stop`) for a lender; past that, the source.
  Lease acquire(const std::string& hash, const std::atomic<bool>& stop);
  // A node now runs relay `hash` and lends it.
  void add(const std::string& hash, Donor donor);
  // The node's relay stopped: it lends no more.
  void remove(const std::string& node);
  // A started relay could not lend (no numeric address, the request refused).
  void cannot_lend();

 private:
  struct Entry {
    Donor donor;
    int busy = 0;
    bool gone = false;
  };
  void release(const std::string& hash, int index);

  const int source_slots_, per_donor_;
  const std::chrono::milliseconds patience_;
  std::mutex mu_;
  std::condition_variable freed_;
  int failures_ = 0, fetches_ = 0;
  std::map<std::string, int> source_sent_;  // by relay hash: nodes the source shipped it to
  std::map<std::string, std::vector<Entry>> donors_;  // by relay hash; entries are never erased (leases index them)
};

}  // namespace treesync

#include "src/ssh/relay_donors.h"

#include <algorithm>

namespace treesync {

RelayDonors::Lease::Lease(Lease&& o) noexcept
    : owner_(o.owner_), hash_(std::move(o.hash_)), index_(o.index_), donor_(std::move(o.donor_)) {
  o.owner_ = nullptr;
}

RelayDonors::Lease::~Lease() {
  if (owner_) owner_->release(hash_, index_);
}

void RelayDonors::Lease::fetched() {
  if (!owner_ || index_ < 0) return;
  std::lock_guard<std::mutex> lock(owner_->mu_);
  ++owner_->fetches_;
}

void RelayDonors::Lease::failed(bool its_fault) {
  if (!owner_ || index_ < 0) return;
  std::lock_guard<std::mutex> lock(owner_->mu_);
  ++owner_->failures_;
  if (its_fault) owner_->donors_[hash_][static_cast<std::size_t>(index_)].gone = true;
  owner_->freed_.notify_all();
}

RelayDonors::Lease RelayDonors::acquire(const std::string& hash, const std::atomic<bool>& stop) {
  std::unique_lock<std::mutex> lock(mu_);
  const auto deadline = std::chrono::steady_clock::now() + patience_;
  for (;;) {
    // The least busy lender spreads the fetches over the newest nodes too.
    auto& entries = donors_[hash];
    int best = -1;
    for (std::size_t i = 0; i < entries.size(); ++i) {
      const Entry& e = entries[i];
      if (!e.gone && e.busy < per_donor_ && (best < 0 || e.busy < entries[static_cast<std::size_t>(best)].busy))
        best = static_cast<int>(i);
    }
    if (best >= 0) {
      Entry& e = entries[static_cast<std::size_t>(best)];
      ++e.busy;
      return Lease(this, hash, best, e.donor);
    }
    int& sent = source_sent_[hash];
    const bool hopeless = failures_ >= kGiveUp && fetches_ == 0;
    if (sent < source_slots_ || hopeless || stop || std::chrono::steady_clock::now() >= deadline) {
      ++sent;
      return Lease(this, hash, -1, {});
    }
    freed_.wait_until(lock, std::min(deadline, std::chrono::steady_clock::now() + std::chrono::milliseconds(200)));
  }
}

void RelayDonors::add(const std::string& hash, Donor donor) {
  std::lock_guard<std::mutex> lock(mu_);
  donors_[hash].push_back({std::move(donor)});
  freed_.notify_all();
}

void RelayDonors::remove(const std::string& node) {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& [hash, entries] : donors_)
    for (Entry& e : entries)
      if (e.donor.node == node) e.gone = true;
}

void RelayDonors::cannot_lend() {
  std::lock_guard<std::mutex> lock(mu_);
  ++failures_;
  freed_.notify_all();
}

void RelayDonors::release(const std::string& hash, int index) {
  if (index < 0) return;
  std::lock_guard<std::mutex> lock(mu_);
  --donors_[hash][static_cast<std::size_t>(index)].busy;
  freed_.notify_all();
}

}  // namespace treesync

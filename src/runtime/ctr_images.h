// The images of one containerd namespace, read with `ctr`: what containerd
// nodes and Docker's containerd image store have in common. There an image
// is a name pointing at a manifest (or an index of them); its identity is
// the config that manifest names for this node's platform (DESIGN.md §9).
#pragma once

#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "src/runtime/runtime_cli.h"
#include "src/runtime/subprocess.h"
#include "src/wire/messages.h"

namespace runtime {

class CtrImages {
 public:
  CtrImages(std::string socket, std::string ns, std::string arch, RuntimeCli cli = RuntimeCli());

  struct Image {
    std::string name;
    std::string target;   // the manifest or index digest the name points at
    bool complete = false;  // every blob of this platform is in the content store
    std::string config;   // "" if no manifest for this platform
  };

  // `ctr … ARGS`, run to completion.
  ProcessResult run(const std::vector<std::string>& args) const;
  std::string server_version() const;

  // Every image of the namespace.
  std::vector<Image> list();
  // Fills `images` (by config digest) and, with `layers`, the diff IDs of
  // every whole image as far as their uncompressed blobs are in the content
  // store: an OCI archive may leave out only those (a pulled image's gzip
  // blobs do not stand in for them).
  void probe(const std::vector<std::string>& ids, bool layers, wire::ProbeReply& reply);
  // Which of `images` a load made whole: an image pointing at the manifest
  // the relay wrote (wire::oci_manifest), complete.
  std::vector<std::string> loaded(const std::vector<wire::PlanImage>& images);
  // Removes the digest names (import-…@sha256:M, moby-dangling@sha256:M) a
  // load leaves on the manifests `targets`, once they are tagged or useless.
  void remove_digest_names(const std::set<std::string>& targets);

  // A killed import leaves its lease (24 h) and, under it, the blob it was
  // writing half-written; the next import of that blob resumes it with the
  // new bytes and stores a blob of another digest, and the image then lacks
  // the layer ("content digest … not found"). note_leases() before a load
  // and drop_new_leases() after it failed let containerd collect them.
  void note_leases();
  void drop_new_leases();
  // A whole image whose config is `id`; throws if there is none.
  Image find(const std::string& id);
  // The names people typed (is_tag) of whole images whose config is `id`,
  // as containerd stores them (docker.io/library/app:1).
  std::vector<std::string> tags_of(const std::string& id);

  // A name no one typed: a digest reference the import made, or the ID
  // reference the CRI plugin adds.
  static bool is_tag(const std::string& name);

 private:
  std::string content(const std::string& digest) const;  // a blob, read with `ctr content get`; "" if absent
  std::string config_of(const std::string& target);      // "" if none for this platform
  std::vector<std::string> diff_ids_of(const std::string& config);

  std::set<std::string> leases_before_;
  std::string socket_, ns_, arch_;
  RuntimeCli cli_;
  // Blobs never change under their digest: what they say is read once.
  std::mutex cache_mu_;  // the relay's control thread and its loader both ask
  std::map<std::string, std::string> config_of_;
  std::map<std::string, std::vector<std::string>> diff_ids_;
};

}  // namespace runtime

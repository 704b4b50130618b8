// containerd without Docker, as Kubernetes nodes run it: images in one
// namespace (k8s.io for the CRI plugin), imported with `ctr images import`.
#pragma once

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "src/runtime/runtime.h"
#include "src/runtime/runtime_cli.h"

namespace runtime {

constexpr const char* kContainerdSocket = "/run/containerd/containerd.sock";
constexpr const char* kKubernetesNamespace = "k8s.io";

std::unique_ptr<Runtime> open_containerd(const std::string& socket, const std::string& ns,
                                         const RuntimeCli& cli = RuntimeCli());

// The digest names of `images`' manifests, as a set: what a load may leave.
std::set<std::string> manifest_digests(const std::vector<wire::PlanImage>& images);

}  // namespace runtime

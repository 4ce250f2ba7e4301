#!/usr/bin/env bash
# hack/kube/build.sh builds, once, the control plane that kubeharden's
# integration tests run against (see internal/testcluster):
#
#   kube-apiserver, kube-controller-manager  v1.37.2  (module hack/kube/apiserver)
#   kubeadm                                  v1.37.2  (module hack/kube/apiserver; the node tests)
#   etcd                                     v3.7.0   (module hack/kube/etcd)
#
# into .cache/kube/v1.37.2 at the repository root, or into $KUBEHARDEN_KUBE_BIN
# when that is set (the same variable internal/testcluster reads).
#
# Everything comes from the Go module proxy; no prebuilt binary is downloaded.
# When all four binaries are present and answer --version (kubeadm: version
# -o short) with the pinned version, the script exits at once. Otherwise it
# builds only the missing or wrong ones; a cold build takes several minutes
# on 2 cores. Each binary is linked under a temporary name and moved into
# place, so an interrupted build never leaves a half-written binary behind,
# and concurrent runs are serialised with flock(1) when it is available.
set -euo pipefail

KUBE_VERSION=v1.37.2
KUBE_MAJOR=1
KUBE_MINOR=37
ETCD_VERSION=v3.7.0
# The commit date of the k8s.io/kubernetes v1.37.2 tag on the module proxy,
# so that the binaries do not change from one build to the next.
KUBE_BUILD_DATE=2026-10-27T12:01:04Z

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="${KUBEHARDEN_KUBE_BIN:-$root/.cache/kube/$KUBE_VERSION}"

# Interrupted: exit, so that the EXIT trap removes a half-written binary.
trap 'exit 130' INT TERM

log() { printf 'hack/kube/build.sh: %s\n' "$*" >&2; }

# ok NAME: the binary exists and reports the pinned version.
ok() {
	local bin="$out/$1" want
	case "$1" in
	etcd) want="etcd Version: ${ETCD_VERSION#v}" ;;
	*) want="Kubernetes $KUBE_VERSION" ;;
	esac
	[ -x "$bin" ] || return 1
	# Not piped into grep -q: the binary could die of SIGPIPE, failing the check.
	local got
	if [ "$1" = kubeadm ]; then
		# kubeadm has no --version flag: "kubeadm version -o short" prints v1.37.2.
		want="$KUBE_VERSION"
		got="$("$bin" version -o short 2>/dev/null)" || return 1
	else
		got="$("$bin" --version 2>/dev/null)" || return 1
	fi
	[[ "$got" == *"$want"* ]]
}

all_ok() { ok kube-apiserver && ok kube-controller-manager && ok etcd && ok kubeadm; }

if all_ok; then
	log "kube-apiserver, kube-controller-manager, kubeadm $KUBE_VERSION and etcd $ETCD_VERSION present in $out"
	exit 0
fi

mkdir -p "$out"
if command -v flock >/dev/null 2>&1; then
	exec 9>"$out/.build.lock"
	flock 9
	# Another run may have built them while we waited for the lock.
	if all_ok; then
		log "built by a concurrent run; nothing to do"
		exit 0
	fi
fi

# The tools modules are built on their own: never through a go.work that
# happens to be around, never with the repository's VCS state stamped in.
export GOWORK=off CGO_ENABLED=0
export GOFLAGS="${GOFLAGS:+$GOFLAGS }-buildvcs=false"

kube_ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
	kube_ldflags+=" -X $pkg.gitVersion=$KUBE_VERSION"
	kube_ldflags+=" -X $pkg.gitMajor=$KUBE_MAJOR"
	kube_ldflags+=" -X $pkg.gitMinor=$KUBE_MINOR"
	kube_ldflags+=" -X $pkg.gitCommit="
	kube_ldflags+=" -X $pkg.gitTreeState=clean"
	kube_ldflags+=" -X $pkg.buildDate=$KUBE_BUILD_DATE"
done
etcd_ldflags="-s -w -X go.etcd.io/etcd/api/v3/version.GitSHA=$ETCD_VERSION-goproxy"

# build NAME MODULE_DIR PACKAGE LDFLAGS
build() {
	local name="$1" dir="$2" pkg="$3" ldflags="$4"
	if ok "$name"; then
		log "$name already present"
		return
	fi
	local tmp="$out/.$name.tmp.$$" start=$SECONDS
	trap "rm -f '$tmp'" EXIT
	log "building $name from $pkg (module hack/kube/$(basename "$dir")) into $out ..."
	(cd "$dir" && go build -p 2 -trimpath -ldflags "$ldflags" -o "$tmp" "$pkg")
	mv -f "$tmp" "$out/$name"
	trap - EXIT
	if ! ok "$name"; then
		log "$out/$name was built but does not report the pinned version:"
		"$out/$name" --version >&2 || true
		exit 1
	fi
	log "built $name in $((SECONDS - start))s ($(du -h "$out/$name" | cut -f1))"
}

build etcd "$here/etcd" . "$etcd_ldflags"
build kube-apiserver "$here/apiserver" k8s.io/kubernetes/cmd/kube-apiserver "$kube_ldflags"
build kube-controller-manager "$here/apiserver" k8s.io/kubernetes/cmd/kube-controller-manager "$kube_ldflags"
build kubeadm "$here/apiserver" k8s.io/kubernetes/cmd/kubeadm "$kube_ldflags"
log "done: $(cd "$out" && "./kube-apiserver" --version), $(cd "$out" && ./etcd --version | head -1)"

// Package differential holds kubeharden's differential test against a real
// kube-apiserver (internal/testcluster): every pod-bearing fixture of every
// check, every example and the official Pod Security Admission fixtures of
// the newest policy version are created (server-side dry run) in the test
// cluster, and the object the API server returns — defaulted, as it would
// store it — must give exactly the findings and the Pod Security Standards
// verdict that scanning the manifest gives. Namespaces labelled with the
// baseline and restricted enforce levels must admit an object exactly when
// kubeharden's level says they would. TestVAP applies the generated
// ValidatingAdmissionPolicies (policy.VAPs), each bound by an object
// selector to the objects labelled for it, and requires each to reject
// exactly the fixture objects of its kinds that its check reports, with
// one of the check's messages and as many problems, and to admit objects
// its exceptions (matchConditions) cover. The package has no code of its
// own.
package differential

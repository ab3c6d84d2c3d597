// Package model defines the Confluence data ferry copies, once, for every
// site, export and import: the entities (users, groups, spaces, pages, ...),
// the events that describe their history, the order those events come in,
// and the scope table that says what is copied and what is not, and why.
//
// A Change is one event with a typed payload. Export turns Changes into
// archive events; import turns them back. The package knows nothing of
// archives or of any particular site.
package model

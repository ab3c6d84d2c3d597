package model

// Copy says whether ferry copies something.
type Copy string

const (
	Copied      Copy = "yes"
	NotCopied   Copy = "no"
	Conditional Copy = "conditional" // copied unless Condition holds
)

// ScopeRule says whether one kind of data (or one event type of it) is
// copied and, when it is not, why. Inspect and import read the same table,
// so what inspect predicts is what import does.
type ScopeRule struct {
	Kind      string    // entity kind, or a kind of data not exported at all
	Event     EventType // "" for every event of the kind
	Copy      Copy
	Condition string // for Conditional: the case in which it is not copied
	Reason    string // why, in words an admin can act on
}

// Scope is the scope table, rendered into spec/EVENTS.md. For a given
// event, the first rule that names its type applies, else the first that
// names its kind.
var Scope = []ScopeRule{
	{Kind: "user", Copy: Copied, Reason: "linked to the destination account with the same email (compared case-insensitively); created when there is none. Copied users get no invitation email."},
	{Kind: "user_profile", Copy: NotCopied, Reason: "Atlassian copies neither avatars nor profiles; the source does not export them."},
	{Kind: "group", Copy: Copied, Reason: "matched by name; a same-named destination group is merged only with --merge-groups, else the copy is named \"NAME (copied)\"."},
	{Kind: "membership", Copy: Copied, Reason: "preserved; a merge that widens anyone's access is listed before it happens."},
	{Kind: "app", Copy: NotCopied, Reason: "app data is not copied: install the same apps at the destination; links into app data break without them."},
	{Kind: "app_data", Copy: NotCopied, Reason: "third-party app data is not copied (Atlassian's rule)."},
	{Kind: "product_access", Copy: NotCopied, Reason: "product access settings are not copied; users get product access through the groups they join."},
	{Kind: "space", Copy: Copied, Reason: "with its details, settings and templates, personal spaces too; an import's --spaces chooses which spaces it takes, and reports those it leaves out."},
	{Kind: "space_permission", Copy: Conditional, Condition: "granted to a group that will not exist at the destination", Reason: "a group's permission is lost when no group of that name will exist; copy users and groups first."},
	{Kind: "folder", Event: FolderVersion, Copy: Conditional, Condition: "a later version (a rename) and the destination is Confluence Cloud", Reason: "a folder's title is copied; Confluence Cloud's API cannot rename a folder, so a later rename is reported, not applied."},
	{Kind: "folder", Copy: Copied, Reason: "with its place in the page tree and the pages in it (Confluence Cloud's folders)."},
	{Kind: "page", Event: PageVersion, Copy: Copied, Reason: "every version is copied; into Confluence Cloud, whose API writes as the importing account, now, the original author and time go in the version's message and the ferry.source property."},
	{Kind: "page", Copy: Copied, Reason: "with full version history, its place in the tree, and its status (archived and trashed pages too)."},
	{Kind: "blogpost", Event: BlogpostVersion, Copy: Copied, Reason: "every version is copied; into Confluence Cloud, whose API writes as the importing account, now, the original author and time go in the version's message and the ferry.source property."},
	{Kind: "blogpost", Copy: Copied, Reason: "with full version history and status."},
	{Kind: "comment", Event: CommentVersion, Copy: Copied, Reason: "every version is copied; into Confluence Cloud, whose API writes as the importing account, now, the original author and time go in the comment's ferry.source property."},
	{Kind: "comment", Copy: Copied, Reason: "footer and inline comments, threaded, with their history."},
	{Kind: "attachment", Event: AttachmentVersionAdded, Copy: Conditional, Condition: "over 2 GB and the destination is Confluence Cloud", Reason: "Confluence Cloud refuses uploads over 2 GB; such versions are reported, not silently dropped. Into Cloud, versions are uploaded as the importing account, with the original author and time in the version's comment."},
	{Kind: "attachment", Copy: Copied, Reason: "with every version."},
	{Kind: "label", Copy: Copied, Reason: "copied."},
	{Kind: "restriction", Copy: Conditional, Condition: "granted to a group that will not exist at the destination", Reason: "a restriction naming a missing group cannot be applied; copy users and groups first."},
	{Kind: "property", Copy: Copied, Reason: "copied."},
	{Kind: "like", Copy: Conditional, Condition: "the destination is Confluence Cloud", Reason: "copied into embedded sites; Confluence Cloud's API cannot like on a user's behalf, so likes are not written there (they are counted)."},
	{Kind: "source", Copy: NotCopied, Reason: "held by the source but not copied: a class of objects ferry does not map, or an object it cannot copy; each event says which and why."},
}

// RuleFor returns the scope rule that applies to events of type t.
func RuleFor(t EventType) ScopeRule {
	for _, r := range Scope {
		if r.Event == t {
			return r
		}
	}
	for _, r := range Scope {
		if r.Event == "" && r.Kind == t.Kind() {
			return r
		}
	}
	return ScopeRule{Kind: t.Kind(), Event: t, Copy: NotCopied, Reason: "not known to this version of ferry"}
}

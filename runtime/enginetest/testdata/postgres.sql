-- GetByEmail
SELECT "id", "email", "org_id", "handle", "name" FROM "users" WHERE "email" = $1;
-- args: "a@x.org"

-- GetByOrgIDHandle
SELECT "id", "email", "org_id", "handle", "name" FROM "users" WHERE "org_id" = $1 AND "handle" = $2;
-- args: 1, "a"

-- All
SELECT "id", "email", "org_id", "handle", "name" FROM "users" ORDER BY "id";

-- Save (insert)
INSERT INTO "users" ("email", "org_id", "handle", "name") VALUES ($1, $2, $3, $4) RETURNING "id";
-- args: "b@x.org", 2, "b", "B"

-- Save (update)
SELECT "id", "email", "org_id", "handle", "name" FROM "users" WHERE "id" = $1 FOR UPDATE;
-- args: 5

-- Save (update)
UPDATE "users" SET "email" = $1, "org_id" = $2, "handle" = $3, "name" = $4 WHERE "id" = $5;
-- args: "new@x.org", 1, "a", "A", 5

-- Delete
SELECT "id", "email", "org_id", "handle", "name" FROM "users" WHERE "id" = $1 FOR UPDATE;
-- args: 5

-- Delete
DELETE FROM "users" WHERE "id" = $1;
-- args: 5

-- Save (insert, failed commit)
INSERT INTO "users" ("email", "org_id", "handle", "name") VALUES ($1, $2, $3, $4) RETURNING "id";
-- args: "c@x.org", 3, "c", "C"

-- GetByIDs
SELECT "id", "email", "org_id", "handle", "name" FROM "users" WHERE "id" IN ($1, $2);
-- args: 5, 6

-- GetByEmails
SELECT 0, "id", "email", "org_id", "handle", "name" FROM "users" WHERE "email" = $1;
-- args: "a@x.org"

-- Save wide (insert)
INSERT INTO "wides" ("code", "c1", "c2", "c3", "c4", "c5", "c6", "c7", "c8", "c9") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING "id";
-- args: "w", 1, 2, 3, 4, 5, 6, 7, 8, 9

-- Save wide (update)
SELECT "id", "code", "c1", "c2", "c3", "c4", "c5", "c6", "c7", "c8", "c9" FROM "wides" WHERE "id" = $1 FOR UPDATE;
-- args: 7

-- Save wide (update)
UPDATE "wides" SET "code" = $1, "c1" = $2, "c2" = $3, "c3" = $4, "c4" = $5, "c5" = $6, "c6" = $7, "c7" = $8, "c8" = $9, "c9" = $10 WHERE "id" = $11;
-- args: "w2", 11, 12, 13, 14, 15, 16, 17, 18, 19, 7

-- Wide GetByIDs (12 ids)
SELECT "id", "code", "c1", "c2", "c3", "c4", "c5", "c6", "c7", "c8", "c9" FROM "wides" WHERE "id" IN ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12);
-- args: 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12

-- Wide GetByCodes (11 codes)
SELECT 0, "id", "code", "c1", "c2", "c3", "c4", "c5", "c6", "c7", "c8", "c9" FROM "wides" WHERE "code" = $1 UNION ALL SELECT 1, "id", "code", "c1", "c2", "c3", "c4", "c5", "c6", "c7", "c8", "c9" FROM "wides" WHERE "code" = $2 UNION ALL SELECT 2, "id", "code", "c1", "c2", "c3", "c4", "c5", "c6", "c7", "c8", "c9" FROM "wides" WHERE "code" = $3 UNION ALL SELECT 3, "id", "code", "c1", "c2", "c3", "c4", "c5", "c6", "c7", "c8", "c9" FROM "wides" WHERE "code" = $4 UNION ALL SELECT 4, "id", "code", "c1", "c2", "c3", "c4", "c5", "c6", "c7", "c8", "c9" FROM "wides" WHERE "code" = $5 UNION ALL SELECT 5, "id", "code", "c1", "c2", "c3", "c4", "c5", "c6", "c7", "c8", "c9" FROM "wides" WHERE "code" = $6 UNION ALL SELECT 6, "id", "code", "c1", "c2", "c3", "c4", "c5", "c6", "c7", "c8", "c9" FROM "wides" WHERE "code" = $7 UNION ALL SELECT 7, "id", "code", "c1", "c2", "c3", "c4", "c5", "c6", "c7", "c8", "c9" FROM "wides" WHERE "code" = $8 UNION ALL SELECT 8, "id", "code", "c1", "c2", "c3", "c4", "c5", "c6", "c7", "c8", "c9" FROM "wides" WHERE "code" = $9 UNION ALL SELECT 9, "id", "code", "c1", "c2", "c3", "c4", "c5", "c6", "c7", "c8", "c9" FROM "wides" WHERE "code" = $10 UNION ALL SELECT 10, "id", "code", "c1", "c2", "c3", "c4", "c5", "c6", "c7", "c8", "c9" FROM "wides" WHERE "code" = $11;
-- args: "w0", "w1", "w2", "w3", "w4", "w5", "w6", "w7", "w8", "w9", "w10"


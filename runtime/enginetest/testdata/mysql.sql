-- GetByEmail
SELECT `id`, `email`, `org_id`, `handle`, `name` FROM `users` WHERE `email` = ?;
-- args: "a@x.org"

-- GetByOrgIDHandle
SELECT `id`, `email`, `org_id`, `handle`, `name` FROM `users` WHERE `org_id` = ? AND `handle` = ?;
-- args: 1, "a"

-- All
SELECT `id`, `email`, `org_id`, `handle`, `name` FROM `users` ORDER BY `id`;

-- Save (insert)
INSERT INTO `users` (`email`, `org_id`, `handle`, `name`) VALUES (?, ?, ?, ?);
-- args: "b@x.org", 2, "b", "B"

-- Save (update)
SELECT `id`, `email`, `org_id`, `handle`, `name` FROM `users` WHERE `id` = ? FOR UPDATE;
-- args: 5

-- Save (update)
UPDATE `users` SET `email` = ?, `org_id` = ?, `handle` = ?, `name` = ? WHERE `id` = ?;
-- args: "new@x.org", 1, "a", "A", 5

-- Delete
SELECT `id`, `email`, `org_id`, `handle`, `name` FROM `users` WHERE `id` = ? FOR UPDATE;
-- args: 5

-- Delete
DELETE FROM `users` WHERE `id` = ?;
-- args: 5

-- Save (insert, failed commit)
INSERT INTO `users` (`email`, `org_id`, `handle`, `name`) VALUES (?, ?, ?, ?);
-- args: "c@x.org", 3, "c", "C"

-- GetByIDs
SELECT `id`, `email`, `org_id`, `handle`, `name` FROM `users` WHERE `id` IN (?, ?);
-- args: 5, 6

-- GetByEmails
SELECT 0, `id`, `email`, `org_id`, `handle`, `name` FROM `users` WHERE `email` = ?;
-- args: "a@x.org"

-- Save wide (insert)
INSERT INTO `wides` (`code`, `c1`, `c2`, `c3`, `c4`, `c5`, `c6`, `c7`, `c8`, `c9`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?);
-- args: "w", 1, 2, 3, 4, 5, 6, 7, 8, 9

-- Save wide (update)
SELECT `id`, `code`, `c1`, `c2`, `c3`, `c4`, `c5`, `c6`, `c7`, `c8`, `c9` FROM `wides` WHERE `id` = ? FOR UPDATE;
-- args: 7

-- Save wide (update)
UPDATE `wides` SET `code` = ?, `c1` = ?, `c2` = ?, `c3` = ?, `c4` = ?, `c5` = ?, `c6` = ?, `c7` = ?, `c8` = ?, `c9` = ? WHERE `id` = ?;
-- args: "w2", 11, 12, 13, 14, 15, 16, 17, 18, 19, 7

-- Wide GetByIDs (12 ids)
SELECT `id`, `code`, `c1`, `c2`, `c3`, `c4`, `c5`, `c6`, `c7`, `c8`, `c9` FROM `wides` WHERE `id` IN (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?);
-- args: 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12

-- Wide GetByCodes (11 codes)
SELECT 0, `id`, `code`, `c1`, `c2`, `c3`, `c4`, `c5`, `c6`, `c7`, `c8`, `c9` FROM `wides` WHERE `code` = ? UNION ALL SELECT 1, `id`, `code`, `c1`, `c2`, `c3`, `c4`, `c5`, `c6`, `c7`, `c8`, `c9` FROM `wides` WHERE `code` = ? UNION ALL SELECT 2, `id`, `code`, `c1`, `c2`, `c3`, `c4`, `c5`, `c6`, `c7`, `c8`, `c9` FROM `wides` WHERE `code` = ? UNION ALL SELECT 3, `id`, `code`, `c1`, `c2`, `c3`, `c4`, `c5`, `c6`, `c7`, `c8`, `c9` FROM `wides` WHERE `code` = ? UNION ALL SELECT 4, `id`, `code`, `c1`, `c2`, `c3`, `c4`, `c5`, `c6`, `c7`, `c8`, `c9` FROM `wides` WHERE `code` = ? UNION ALL SELECT 5, `id`, `code`, `c1`, `c2`, `c3`, `c4`, `c5`, `c6`, `c7`, `c8`, `c9` FROM `wides` WHERE `code` = ? UNION ALL SELECT 6, `id`, `code`, `c1`, `c2`, `c3`, `c4`, `c5`, `c6`, `c7`, `c8`, `c9` FROM `wides` WHERE `code` = ? UNION ALL SELECT 7, `id`, `code`, `c1`, `c2`, `c3`, `c4`, `c5`, `c6`, `c7`, `c8`, `c9` FROM `wides` WHERE `code` = ? UNION ALL SELECT 8, `id`, `code`, `c1`, `c2`, `c3`, `c4`, `c5`, `c6`, `c7`, `c8`, `c9` FROM `wides` WHERE `code` = ? UNION ALL SELECT 9, `id`, `code`, `c1`, `c2`, `c3`, `c4`, `c5`, `c6`, `c7`, `c8`, `c9` FROM `wides` WHERE `code` = ? UNION ALL SELECT 10, `id`, `code`, `c1`, `c2`, `c3`, `c4`, `c5`, `c6`, `c7`, `c8`, `c9` FROM `wides` WHERE `code` = ?;
-- args: "w0", "w1", "w2", "w3", "w4", "w5", "w6", "w7", "w8", "w9", "w10"


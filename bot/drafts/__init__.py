"""Draft applications: validation (`model`), encrypted storage (`store`), the dialogue that
fills one in (`dialogue`), its texts and JSON (`render`), its PDF (`pdf`) and its addresses
(`urls`). Import from the submodules: this package imports nothing, so that the conversation
loads no database driver, cryptography or templates it does not need.

The conversation layer calls, in order:

1. `model.check_field(name, raw, today=...)` for each typed answer (CPR masked, Danish error or value);
2. `model.prepare(DraftInput(...), today)` for the whole draft (errors by field, `cpr_removed`);
3. `store.DraftStore(url).create(draft_input, store.idempotency_key(conversation_id, outcome), now)`
   -> `(reference, token)`, and shows `urls.draft_url(base_url, token)`.
"""

"""Text of policy attachments (PDF, DOCX, DOC, XLSX): the format readers, the named outcome states, and the guarded
worker process they run in (`worker.Extractor`), so a hostile file ends in a state, never a crash or a hang."""

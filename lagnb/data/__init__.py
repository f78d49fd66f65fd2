"""The data: sampling field contents, feature flags, building datasets on disk (atomic,
resumable shards), importing the public BART-L CSV, the one dataset reader, and statistics."""

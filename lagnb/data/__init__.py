"""The data: sampling field contents (``sampling``), feature flags (``features``), building
datasets on disk (``build``) and importing the public BART-L CSV (``importing``), both through
atomic, resumable shards (``writer``), the dataset layout and its one reader (``reader``), and
summaries and statistics (``stats``)."""

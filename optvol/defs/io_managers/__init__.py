"""IO managers that persist the assets under the artifact root: Parquet tables, model
files and JSON documents."""

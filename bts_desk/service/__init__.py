"""The reference sync service's fleet side: desk status reports, IT's console, metrics."""

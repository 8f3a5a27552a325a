"""bts-desk: the Border Trade Service (边民互市贸易服务) desk client for customs officers."""

__version__ = "0.1.0"

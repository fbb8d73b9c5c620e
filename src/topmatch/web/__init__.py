"""The consultants' and finance staff's web app: server-rendered pages in Dutch (English
too), on the node itself, over the same service layer as the API."""

"""Every table, imported in one place so that Alembic sees the whole schema."""

from sqlmodel import SQLModel

from topmatch.accounts import models as accounts_models
from topmatch.audit import models as audit_models
from topmatch.cardbox import models as cardbox_models
from topmatch.federation import models as federation_models
from topmatch.ledger import models as ledger_models
from topmatch.matching import models as matching_models
from topmatch.publishing import models as publishing_models
from topmatch.referrals import models as referrals_models
from topmatch.settlement import models as settlement_models

metadata = SQLModel.metadata

__all__ = [
    "accounts_models",
    "audit_models",
    "cardbox_models",
    "federation_models",
    "ledger_models",
    "matching_models",
    "metadata",
    "publishing_models",
    "referrals_models",
    "settlement_models",
]

"""Every domain's models, imported once so the metadata is complete (Alembic, tests)."""

from callcenter.audit import models as _audit  # noqa: F401
from callcenter.calls import models as _calls  # noqa: F401
from callcenter.customers import models as _customers  # noqa: F401
from callcenter.db import Base
from callcenter.products import models as _products  # noqa: F401
from callcenter.users import models as _users  # noqa: F401
from callcenter.wallboard import models as _wallboard  # noqa: F401
from kb import models as _kb  # noqa: F401
from repairs import models as _repairs  # noqa: F401
from tickets import models as _tickets  # noqa: F401

metadata = Base.metadata

from tests.fakeccc.fixtures import ccc_account, fake_ccc

__all__ = ["ccc_account", "fake_ccc"]

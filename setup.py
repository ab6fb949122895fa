import re
from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).parent
VERSION = re.search(
    r'^__version__ = "([^"]+)"', (HERE / "django_order_monitor" / "__init__.py").read_text(), re.M
).group(1)

setup(
    name="django-order-monitor",
    version=VERSION,
    description="Follow orders sent to external providers until they complete (with their PIN) or fail.",
    long_description=(HERE / "README.rst").read_text(encoding="utf-8"),
    long_description_content_type="text/x-rst",
    license="MIT",
    packages=find_packages(include=["django_order_monitor", "django_order_monitor.*"]),
    include_package_data=True,
    package_data={"django_order_monitor": ["py.typed", "templates/**/*", "static/**/*"]},
    python_requires=">=3.10",
    install_requires=[
        "Django>=5.2",
        "huey>=3.3",
        "redis>=5",
        "requests>=2.31",
    ],
    extras_require={
        "postgres": ["psycopg[binary]>=3.1"],
        "test": [
            "pytest>=8",
            "pytest-django>=4.9",
            "psycopg[binary]>=3.1",
            "time-machine>=2.13",
            "hypothesis>=6.100",
            "import-linter>=2.1",
            "playwright>=1.40",
        ],
    },
    entry_points={
        "console_scripts": [
            "fake-znet = django_order_monitor.testing.fake_znet.__main__:main",
        ],
    },
    classifiers=[
        "Development Status :: 3 - Alpha",
        "Environment :: Web Environment",
        "Framework :: Django",
        "Framework :: Django :: 5.2",
        "Framework :: Django :: 6.0",
        "Framework :: Django :: 6.1",
        "Intended Audience :: Developers",
        "License :: OSI Approved :: MIT License",
        "Programming Language :: Python :: 3",
        "Programming Language :: Python :: 3.10",
        "Programming Language :: Python :: 3.11",
        "Programming Language :: Python :: 3.12",
        "Programming Language :: Python :: 3.13",
    ],
)

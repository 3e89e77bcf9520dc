"""The package's variables: inputs (facts), Qingdao awards and high-tech conditions."""

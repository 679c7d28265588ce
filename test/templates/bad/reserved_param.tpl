{{params site_name return}}

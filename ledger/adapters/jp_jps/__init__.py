"""Japan Pension Service (JPS): employees' pension (EPI) and National Pension."""
